/*
 * main.c -- `authmilter SUBCOMMAND ...`: find the subcommand and run it.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "authmilter/arena.h"
#include "cli.h"

struct cli_command {
	const char *name;
	int (*fn)(int, char **);
	const char *summary;
};

static const struct cli_command cli_commands[] = {
    {"sign", cli_sign, "print a message with DKIM signatures added"},
    {"seal", cli_seal, "print a message with an ARC set sealed on top"},
    {"verify", cli_verify, "evaluate messages offline, print results"},
    {"run", cli_run, "run the milter daemon"},
    {"check-config", cli_check_config,
        "check a configuration file, its tables and keys"},
    {"report", cli_report, "build and send DMARC aggregate reports"},
    {"stats", cli_stats, "summarise the report spool per domain"},
    {"keygen", cli_keygen, "make a DKIM key pair and its DNS record"},
    {"keycheck", cli_keycheck, "check a published DKIM key record"},
    {"migrate", cli_migrate,
        "write authmilter.conf from opendkim.conf "
        "and opendmarc.conf"},
    {"rotate", cli_rotate, "one step of DKIM key rotation per domain"},
    {NULL, NULL, NULL},
};

static void
usage(FILE *f)
{
	const struct cli_command *c;

	fprintf(f, "usage: authmilter SUBCOMMAND [OPTIONS] [ARGS]\n"
	           "       authmilter SUBCOMMAND --help\n\n"
	           "subcommands:\n");
	for (c = cli_commands; c->name != NULL; c++)
		fprintf(f, "  %-14s %s\n", c->name, c->summary);
	fprintf(f, "  %-14s %s\n", "version", "print the version");
}

int
cli_read_file(const char *path, char **ret_data, size_t *ret_len)
{
	FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
	size_t len = 0, size = 0, n;
	char *data = NULL, *p;
	int err;

	if (f == NULL) {
		err = errno;
		fprintf(stderr, "authmilter: %s: %s\n", path, strerror(err));
		return -err;
	}
	for (;;) {
		if (size - len < 65536) {
			size = size ? size * 2 : 131072;
			p = realloc(data, size);
			if (p == NULL) {
				free(data);
				if (f != stdin)
					fclose(f);
				fprintf(stderr,
				    "authmilter: %s: out of "
				    "memory\n",
				    path);
				return -ENOMEM;
			}
			data = p;
		}
		n = fread(data + len, 1, size - len - 1, f);
		len += n;
		if (n == 0)
			break;
	}
	err = ferror(f) ? EIO : 0;
	if (f != stdin)
		fclose(f);
	if (err != 0) {
		free(data);
		fprintf(stderr, "authmilter: %s: read error\n", path);
		return -err;
	}
	data[len] = '\0';
	*ret_data = data;
	*ret_len = len;
	return 0;
}

int
cli_write_new(const char *path, const void *data, size_t len, mode_t mode,
    bool replace, uid_t uid, gid_t gid, struct buf *why)
{
	size_t off = 0;
	ssize_t n;
	int fd, err = 0;

	if (replace && unlink(path) != 0 && errno != ENOENT) {
		err = errno;
		buf_addf(why, "%s: %s", path, strerror(err));
		return -err;
	}
	fd = open(
	    path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode);
	if (fd < 0) {
		err = errno;
		buf_addf(why, "%s: %s", path, strerror(err));
		return -err;
	}
	while (off < len && err == 0) {
		n = write(fd, (const char *)data + off, len - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			err = n < 0 ? errno : EIO;
		else
			off += (size_t)n;
	}
	if (err == 0 && (uid != (uid_t)-1 || gid != (gid_t)-1) &&
	    fchown(fd, uid, gid) != 0)
		err = errno;
	if (err == 0 && fsync(fd) != 0)
		err = errno;
	if (close(fd) != 0 && err == 0)
		err = errno;
	if (err != 0) {
		buf_addf(why, "%s: %s", path, strerror(err));
		unlink(path);
		return -err;
	}
	return 0;
}

int
main(int argc, char **argv)
{
	const struct cli_command *c;

	if (argc < 2 || strcmp(argv[1], "--help") == 0 ||
	    strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "help") == 0) {
		usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? CLI_EXIT_USAGE : CLI_EXIT_OK;
	}
	if (strcmp(argv[1], "version") == 0 ||
	    strcmp(argv[1], "--version") == 0) {
		printf("authmilter %s\n", AUTHMILTER_VERSION);
		return CLI_EXIT_OK;
	}
	for (c = cli_commands; c->name != NULL; c++)
		if (strcmp(c->name, argv[1]) == 0)
			return c->fn(argc - 1, argv + 1);
	fprintf(stderr,
	    "authmilter: unknown subcommand \"%s\" "
	    "(authmilter --help lists them)\n",
	    argv[1]);
	return CLI_EXIT_USAGE;
}

bool
cli_lf_only(const char *data, size_t len)
{
	const char *nl = memchr(data, '\n', len);

	return nl != NULL && (nl == data || nl[-1] != '\r');
}

void
cli_print_field(const char *name, const char *value, bool lf)
{
	const char *v;

	fputs(name, stdout);
	putchar(':');
	for (v = value; *v != '\0'; v++)
		if (!(lf && v[0] == '\r' && v[1] == '\n'))
			putchar(*v);
	fputs(lf ? "\n" : "\r\n", stdout);
}

const char **
cli_split_names(struct arena *a, char *list, size_t *ret_n)
{
	size_t n = 1, i = 0;
	const char **v;
	char *p, *save = NULL;

	for (p = list; *p != '\0'; p++)
		n += *p == ',';
	v = arena_zalloc(a, (n + 1) * sizeof(*v));
	if (v == NULL)
		return NULL;
	for (p = strtok_r(list, ", \t", &save); p != NULL;
	     p = strtok_r(NULL, ", \t", &save))
		v[i++] = p;
	*ret_n = i;
	return v;
}
