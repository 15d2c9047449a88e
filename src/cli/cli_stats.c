/*
 * cli_stats.c -- `authmilter stats`: a human summary of the report spool
 * per policy domain: messages, DMARC pass/fail, top failing source IPs.
 * Reads every spool file of each directory, claimed and processed ones
 * included (DIR and DIR/processed), claims nothing.
 */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "authmilter/report.h"
#include "cli.h"

struct stats {
	struct report_agg *agg;
	time_t since;
	unsigned long skipped;
	int top;
};

static void
usage(FILE *f)
{
	fprintf(f, "usage: authmilter stats --spool DIR [--spool DIR...] "
	           "[--since YYYY-MM-DD]\n"
	           "           [--top N]\n\n"
	           "Per policy domain: messages, DMARC pass and fail, and the "
	           "N (default 5)\n"
	           "source IPs with the most failing messages, from every "
	           "spool file of the\n"
	           "directories (processed/ and claimed ones too) dated "
	           "--since or later.\n"
	           "Exit: 0 ok, 2 usage or I/O error.\n");
}

static int
add(void *ctx, const struct spool_record *r, const char *path,
    unsigned long line)
{
	struct stats *s = ctx;
	int err = report_agg_add(s->agg, r);

	if (err != 0)
		fprintf(stderr, "authmilter: stats: %s:%lu: %s\n", path, line,
		    strerror(-err));
	return err;
}

static void
warn_line(void *ctx, const char *path, unsigned long line, const char *why)
{
	struct stats *s = ctx;

	s->skipped++;
	fprintf(stderr, "authmilter: stats: %s:%lu: %s (line skipped)\n", path,
	    line, why);
}

/* spool_day -- the day of a spool file name, also when claimed:
 * "YYYY-MM-DD.HOST.jsonl[.claimed.PID]" */
static bool
spool_day(const char *name, time_t *ret)
{
	const char *sfx = strstr(name, SPOOL_SUFFIX);
	char base[512];

	if (sfx == NULL || (size_t)(sfx - name) + 7 > sizeof(base))
		return false;
	snprintf(base, sizeof(base), "%.*s%s", (int)(sfx - name), name,
	    SPOOL_SUFFIX);
	return spool_file_day(base, ret);
}

static int
read_dir(struct stats *s, const char *dir, bool must_exist)
{
	char path[4096];
	struct dirent *e;
	time_t day;
	DIR *d;
	int err = 0;

	if ((d = opendir(dir)) == NULL) {
		if (!must_exist && errno == ENOENT)
			return 0;
		fprintf(stderr, "authmilter: stats: %s: %s\n", dir,
		    strerror(errno));
		return -errno;
	}
	while (err == 0 && (e = readdir(d)) != NULL) {
		if (!spool_day(e->d_name, &day) || day < s->since)
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		if ((err = spool_read_file(path, add, warn_line, s, NULL)) !=
		        0 &&
		    err != -ENOENT) /* claimed away meanwhile */
			fprintf(stderr, "authmilter: stats: %s: %s\n", path,
			    strerror(-err));
		err = err == -ENOENT ? 0 : err;
	}
	closedir(d);
	return err;
}

/* print_top -- the IPs with the most non-passing messages (rows are
 * sorted by IP, so one IP's rows are adjacent) */
static void
print_top(const struct report_domain *d, int top)
{
	unsigned long best[64] = {0}, n;
	const char *ip[64];
	size_t i, j;
	int k, shown = 0;

	for (i = 0; i < d->row_count; i = j) {
		n = 0;
		for (j = i;
		     j < d->row_count && strcmp(d->rows[j]->rec.source_ip,
		                             d->rows[i]->rec.source_ip) == 0;
		     j++)
			if (d->rows[j]->rec.dmarc != AUTH_PASS)
				n += d->rows[j]->count;
		for (k = 0; k < top && n > 0; k++)
			if (n > best[k]) {
				memmove(&best[k + 1], &best[k],
				    (size_t)(top - k - 1) * sizeof(best[0]));
				memmove(&ip[k + 1], &ip[k],
				    (size_t)(top - k - 1) * sizeof(ip[0]));
				best[k] = n;
				ip[k] = d->rows[i]->rec.source_ip;
				break;
			}
	}
	for (k = 0; k < top && best[k] > 0; k++)
		printf("%s %s (%lu)",
		    shown++ ? "," : "  top failing sources:", ip[k], best[k]);
	if (shown)
		printf("\n");
}

static int
print_stats(struct stats *s)
{
	const struct report_domain *d;
	unsigned long total = 0;
	size_t i, n = report_agg_finish(s->agg);

	for (i = 0; i < n; i++) {
		d = report_agg_domain(s->agg, i);
		printf(
		    "%s: %lu messages, %lu dmarc pass, %lu fail, %lu other\n",
		    d->domain, d->messages, d->dmarc_pass, d->dmarc_fail,
		    d->messages - d->dmarc_pass - d->dmarc_fail);
		print_top(d, s->top);
		total += d->messages;
	}
	printf("total: %lu messages, %zu policy domains", total, n);
	if (s->skipped > 0)
		printf(", %lu lines skipped", s->skipped);
	printf("\n");
	return CLI_EXIT_OK;
}

static int
parse(int argc, char **argv, struct stats *s, const char **dirs, size_t *ndirs)
{
	static const struct option opts[] = {
	    {"spool", required_argument, NULL, 's'},
	    {"since", required_argument, NULL, 'S'},
	    {"top", required_argument, NULL, 't'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	char name[64], *end;
	int c;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c == 'h') {
			usage(stdout);
			return 1;
		} else if (c == 's' && *ndirs < 64)
			dirs[(*ndirs)++] = optarg;
		else if (c == 'S') {
			snprintf(name, sizeof(name), "%s.x.jsonl", optarg);
			if (strlen(optarg) != 10 ||
			    !spool_file_day(name, &s->since)) {
				fprintf(stderr,
				    "authmilter: stats: --since "
				    "\"%s\" is not YYYY-MM-DD\n",
				    optarg);
				return -EINVAL;
			}
		} else if (c == 't') {
			s->top = (int)strtol(optarg, &end, 10);
			if (*end != '\0' || s->top < 1 || s->top > 64) {
				fprintf(stderr,
				    "authmilter: stats: --top "
				    "\"%s\" is not 1..64\n",
				    optarg);
				return -EINVAL;
			}
		} else
			return -EINVAL;
	}
	if (*ndirs == 0 || optind != argc) {
		fprintf(stderr, "authmilter: stats: --spool DIR is required "
		                "(authmilter stats --help)\n");
		return -EINVAL;
	}
	return 0;
}

int
cli_stats(int argc, char **argv)
{
	struct stats s = {.top = 5};
	const char *dirs[64];
	char sub[4096];
	size_t ndirs = 0, i;
	int err = 0, status;

	if ((err = parse(argc, argv, &s, dirs, &ndirs)) != 0)
		return err > 0 ? CLI_EXIT_OK : CLI_EXIT_USAGE;
	if ((s.agg = report_agg_new()) == NULL)
		return CLI_EXIT_USAGE;
	for (i = 0; i < ndirs && err == 0; i++) {
		snprintf(sub, sizeof(sub), "%s/processed", dirs[i]);
		if ((err = read_dir(&s, dirs[i], true)) == 0)
			err = read_dir(&s, sub, false);
	}
	status = err != 0 ? CLI_EXIT_USAGE : print_stats(&s);
	report_agg_free(s.agg);
	return status;
}
