/*
 * fuzz_failure_record.c -- the failure-record parser
 * (failure_record_from_json) on arbitrary bytes; whatever parses must
 * write back and parse again to the same line, and its ARF report must
 * compose with every line of the copied header section a field or a fold
 * and the MIME boundary nowhere inside the parts.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "authmilter/failure.h"
#include "authmilter/report_arf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_report(const struct failure_record *r)
{
	static const struct hash_key key = {1, 2};
	const char *to[] = {"f@example.com"}, *b, *end, *line, *nl;
	struct report_arf m = {
	    .rec = r,
	    .from = "failures@example.net",
	    .to = to,
	    .to_count = 1,
	    .user_agent = "fuzz",
	    .message_id = "x@y",
	    .date = 0,
	    .redact = (r->time & 1) != 0,
	    .redact_key = &key,
	    .spf_dns = "v=spf1 -all",
	};
	struct buf out;
	char delim[128];
	size_t n;

	buf_init(&out, BOUND_REPORT_MAIL_BYTES + 65536);
	if (report_arf_compose(&m, &out) == 0) {
		b = strstr(buf_cstr(&out), "boundary=\"");
		if (b == NULL)
			__builtin_trap();
		b += 10;
		n = (size_t)(strchr(b, '"') - b);
		snprintf(delim, sizeof(delim), "\n--%.*s", (int)n, b);
		/* exactly four delimiter lines: three parts and the end */
		line = buf_cstr(&out);
		for (n = 0; (line = strstr(line + 1, delim)) != NULL; n++)
			;
		if (n != 4)
			__builtin_trap();
		/* the copied header section: fields and folds only */
		line = strstr(buf_cstr(&out),
		    r->body != NULL ? "\nContent-Type: message/rfc822\n"
		                    : "\nContent-Type: text/rfc822-headers\n");
		line = line != NULL ? strstr(line, "\n\n") : NULL;
		if (line == NULL)
			__builtin_trap();
		end = strstr(line, delim);
		for (line += 2; line < end; line = nl + 1) {
			nl = strchr(line, '\n');
			if (nl == end)
				break;
			if (nl == line && r->body != NULL)
				break; /* the body of a message/rfc822 */
			if (nl == line ||
			    (line[0] != ' ' && line[0] != '\t' &&
			        memchr(line, ':', (size_t)(nl - line)) == NULL))
				__builtin_trap();
		}
	}
	buf_free(&out);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct arena *a = arena_new(4096);
	struct failure_record r, r2;
	struct buf j1, j2;
	const char *why;

	if (a == NULL)
		return 0;
	buf_init(&j1, BOUND_FAILURE_RECORD_BYTES);
	buf_init(&j2, BOUND_FAILURE_RECORD_BYTES);
	if (failure_record_from_json((const char *)data, size, a, &r, &why) ==
	    0) {
		if (failure_record_to_json(&r, &j1, &why) != 0)
			__builtin_trap();
		if (failure_record_from_json(j1.data, j1.len, a, &r2, &why) !=
		        0 ||
		    failure_record_to_json(&r2, &j2, &why) != 0)
			__builtin_trap();
		if (j1.len != j2.len || memcmp(j1.data, j2.data, j1.len) != 0)
			__builtin_trap();
		check_report(&r);
	}
	buf_free(&j1);
	buf_free(&j2);
	arena_free(a);
	return 0;
}
