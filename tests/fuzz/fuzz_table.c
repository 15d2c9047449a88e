/*
 * fuzz_table.c -- opendkim's table line syntax, inline host lists and the
 * '*' wildcard on arbitrary bytes. The first byte splits the input into a
 * pattern and a subject for table_glob().
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "authmilter/buf.h"
#include "authmilter/table.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct table_cursor *c = malloc(sizeof(*c));
	struct table_hosts *h = NULL;
	struct table_ip ip;
	struct buf err;
	const char *why;
	char *key, *value, *text;
	size_t split;
	int r;

	if (c == NULL || (text = malloc(size + 1)) == NULL) {
		free(c);
		return 0;
	}
	memcpy(text, data, size);
	text[size] = '\0';
	table_cursor_init(c, text, size);
	while ((r = table_next_line(c, &key, &value, &why)) != 0)
		if (r > 0 && (strlen(key) == 0 || strchr(key, '#') != NULL))
			__builtin_trap();
	buf_init(&err, 1 << 16);
	if (strlen(text) == size && text[0] != '/' &&
	    strncmp(text, "file:", 5) != 0 &&
	    strncmp(text, "refile:", 7) != 0 &&
	    table_hosts_open(text, "fuzz", &h, &err) == 0) {
		memset(ip.b, size & 0xff, sizeof(ip.b));
		(void)table_hosts_match(h, &ip, text);
		table_hosts_free(h);
	}
	buf_free(&err);
	split = size > 0 ? data[0] % (size + 1) : 0;
	(void)table_glob(text, split, text + split, size - split);
	free(text);
	free(c);
	return 0;
}
