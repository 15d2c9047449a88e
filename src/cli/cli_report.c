/*
 * cli_report.c -- `authmilter report`: claim the spool files of a period,
 * aggregate them into one RFC 9990 report per policy domain and UTC day,
 * write the reports (.xml.gz) to --out and, with --send, mail them.
 *
 * Claiming (why two runs never report a record twice) is spool_claim.h:
 * files are claimed by rename, only for days that ended at least --grace
 * seconds ago (default 300) and never today, whatever --period says (its
 * report would overlap tomorrow's; RFC 9990 says periods SHOULD NOT
 * overlap). After a day's reports are written (and, with --send, every
 * mail was accepted by sendmail), its files are done (DIR/processed/); if
 * anything failed they are released, so the next run retries the whole
 * day; the claims of a run that died are recovered by the next one.
 * Retries send the same reports again: file name and Report-ID are a hash
 * of the day's spool file names and the domain, so a retried report has
 * the same file name (RFC 9990 "Email": a re-sent report MUST use the same
 * filename) and a "<name>.sent" marker in --out keeps a report that went
 * out from going out twice.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "authmilter/config.h"
#include "authmilter/hash.h"
#include "authmilter/orgdomain.h"
#include "authmilter/report.h"
#include "authmilter/report_state.h"
#include "authmilter/spool_claim.h"
#include "authmilter/xalloc.h"
#include "cli.h"

#define MAX_DIRS 64
#define DAY 86400

struct run {
	const char *dirs[MAX_DIRS];
	size_t ndirs;
	const char *out;
	time_t first_day, last_day; /* inclusive */
	time_t now;
	long grace;
	struct report_meta meta;
	bool send, dry_run;
	const char *sendmail;
	const char *suppress[MAX_DIRS];
	size_t nsuppress;
	struct dns_resolver *dns;
	struct orgdomain_options org_opt; /* --org-domain, --psl */
	const char *config_path; /* -c: defaults from authmilter.conf */
	struct config *cfg;
	struct orgdomain *org;
	struct spool_claim *claim;
	unsigned long warnings;
	struct report_state state; /* this run, for the metrics */
};

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: authmilter report [--config FILE] --spool DIR [--spool "
	    "DIR...]\n"
	    "           --out DIR\n"
	    "           [--period yesterday|all|YYYY-MM-DD[..YYYY-MM-DD]]\n"
	    "           [--org-name NAME] [--email ADDR] [--submitter DOMAIN]\n"
	    "           [--send] [--sendmail CMD] [--no-reports-to "
	    "ADDR|DOMAIN...]\n"
	    "           [--zone FILE | --nameserver IP[@PORT]] [--grace "
	    "SECONDS]\n"
	    "           [--org-domain treewalk|psl [--psl FILE]] "
	    "[--dry-run]\n\n"
	    "Builds one RFC 9990 aggregate report per policy domain and UTC "
	    "day from\n"
	    "the spool files of the period (default: yesterday), writes them "
	    "to --out\n"
	    "as RECEIVER!DOMAIN!BEGIN!END!ID.xml.gz and, with --send, mails "
	    "each to\n"
	    "the rua addresses of the domain's DMARC record through CMD "
	    "(default\n"
	    "\"/usr/sbin/sendmail -t -oi\"). Spool files are claimed by rename "
	    "and\n"
	    "moved to DIR/processed/ once their reports are out; a failed send "
	    "puts\n"
	    "them back for the next run. Days that ended less than --grace "
	    "seconds\n"
	    "(default 300) ago, and today, are left alone. --dry-run claims "
	    "nothing.\n"
	    "--config FILE (authmilter.conf) gives the defaults: --spool from "
	    "SpoolDir,\n"
	    "--out SpoolDir/reports, --org-name and --email from ReportOrgName "
	    "and\n"
	    "ReportEmail, --no-reports-to from NoReportsTo, --org-domain and "
	    "--psl\n"
	    "from OrgDomain and PublicSuffixList, --nameserver from "
	    "Nameservers.\n"
	    "Without it --org-name and --email default to "
	    "$AUTHMILTER_REPORT_ORG_NAME\n"
	    "and $AUTHMILTER_REPORT_EMAIL; --submitter to the domain of the "
	    "email.\n"
	    "The external-destination checks of --send ask --zone (a zone "
	    "file),\n"
	    "--nameserver, or the resolvers of /etc/resolv.conf; "
	    "organizational\n"
	    "domains are found as the milter finds them (--org-domain, "
	    "default\n"
	    "treewalk: the RFC 9989 DNS tree walk; psl: the Public Suffix "
	    "List).\n"
	    "With --failures: the DMARC failure reports of the spool instead\n"
	    "(authmilter report --failures --help).\n"
	    "Exit: 0 ok, 1 a report could not be sent or written, 2 usage or "
	    "I/O.\n");
}

static int
parse_day(const char *s, size_t len, time_t *ret)
{
	char name[40];

	if (len != 10)
		return -EINVAL;
	snprintf(name, sizeof(name), "%.10s.x.jsonl", s);
	return spool_file_day(name, ret) ? 0 : -EINVAL;
}

static int
parse_period(struct run *r, const char *s)
{
	const char *dots = strstr(s, "..");
	time_t today = r->now - r->now % DAY;

	if (strcmp(s, "yesterday") == 0) {
		r->first_day = r->last_day = today - DAY;
		return 0;
	}
	if (strcmp(s, "all") == 0) {
		r->first_day = 0;
		r->last_day = today;
		return 0;
	}
	if (dots == NULL)
		return parse_day(s, strlen(s), &r->first_day) != 0
		           ? -EINVAL
		           : parse_day(s, strlen(s), &r->last_day);
	if (parse_day(s, (size_t)(dots - s), &r->first_day) != 0 ||
	    parse_day(dots + 2, strlen(dots + 2), &r->last_day) != 0 ||
	    r->last_day < r->first_day)
		return -EINVAL;
	return 0;
}

/* ---- organizational domains, as the milter finds them ---- */

int
cli_orgdomain_of(struct orgdomain *od, struct dns_resolver *dns,
    const char *domain, struct buf *ret)
{
	struct orgdomain_org org;
	struct arena *a = arena_new(4096);
	int err;

	if (a == NULL)
		return -ENOMEM;
	err = orgdomain_find(od, dns, a, domain, &org);
	/* a lookup that did not complete compares the domain itself, so
	 * the destination is checked rather than trusted */
	if (err == 0)
		buf_adds(
		    ret, org.status == ORGDOMAIN_OK ? org.org_domain : domain);
	arena_free(a);
	return err != 0 ? err : buf_error(ret);
}

static int
run_orgdomain(void *ctx, const char *domain, struct buf *ret)
{
	const struct run *r = ctx;

	return cli_orgdomain_of(r->org, r->dns, domain, ret);
}

/* ---- claiming ---- */

static char *
path2(const char *dir, const char *name, const char *suffix)
{
	size_t n = strlen(dir) + strlen(name) + strlen(suffix) + 2;
	char *p = xmalloc(n);

	snprintf(p, n, "%s/%s%s", dir, name, suffix);
	return p;
}

/* ---- one day ---- */

struct day {
	struct run *run;
	struct report_agg *agg;
	uint64_t id; /* hash of the day's spool file names */
	time_t begin;
};

static int
add_record(void *ctx, const struct spool_record *rec, const char *path,
    unsigned long line)
{
	struct day *d = ctx;
	int err = report_agg_add(d->agg, rec);

	if (err != 0)
		fprintf(stderr, "authmilter: report: %s:%lu: %s\n", path, line,
		    err == -E2BIG ? "more distinct rows than "
		                    "BOUND_REPORT_ROWS"
		                  : strerror(-err));
	return err;
}

static void
warn_line(void *ctx, const char *path, unsigned long line, const char *why)
{
	struct day *d = ctx;

	d->run->warnings++;
	fprintf(stderr, "authmilter: report: %s:%lu: %s (line skipped)\n", path,
	    line, why);
}

/* id_add -- the report id chained with s: hash_stable, so that a report
 * built again from the same files gets the same id and file name */
static uint64_t
id_add(uint64_t id, const char *s)
{
	return hash_stable(id, s, strlen(s));
}

static int
write_out(const char *dir, const char *name, const void *data, size_t len)
{
	char *tmp = path2(dir, name, ".tmp"), *path = path2(dir, name, "");
	FILE *f = fopen(tmp, "wb");
	int err = 0;

	if (f == NULL || fwrite(data, 1, len, f) != len)
		err = -errno;
	if (f != NULL && fclose(f) != 0 && err == 0)
		err = -errno;
	if (err == 0 && rename(tmp, path) != 0)
		err = -errno;
	if (err != 0) {
		fprintf(stderr, "authmilter: report: %s: %s\n", path,
		    strerror(-err));
		unlink(tmp);
	}
	free(tmp);
	free(path);
	return err;
}

int
cli_pipe_to(const char *cmd, const char *data, size_t len)
{
	int fds[2], status;
	ssize_t n;
	pid_t pid;

	if (pipe(fds) != 0)
		return -errno;
	if ((pid = fork()) < 0) {
		close(fds[0]);
		close(fds[1]);
		return -errno;
	}
	if (pid == 0) {
		dup2(fds[0], 0);
		close(fds[0]);
		close(fds[1]);
		execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
		_exit(127);
	}
	close(fds[0]);
	for (; len > 0; data += n, len -= (size_t)n)
		if ((n = write(fds[1], data, len)) <= 0 && errno != EINTR)
			break;
		else if (n < 0)
			n = 0;
	close(fds[1]);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	return len == 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0
	                                                                 : -EIO;
}

/* destinations -- the verified addresses of d's rua (stderr says why
 * others were dropped). @return the count. */
static size_t
destinations(struct run *r, const struct report_domain *d, struct arena *a,
    const char **to)
{
	struct report_dest_options o = {
	    .dns = r->dns,
	    .orgdomain = run_orgdomain,
	    .orgdomain_ctx = r,
	    .suppress = r->suppress,
	    .suppress_count = r->nsuppress,
	};
	struct report_dest *v;
	size_t n, i, k = 0;

	if (report_destinations(&d->policy, &o, a, &v, &n) != 0) {
		fprintf(stderr, "authmilter: report: out of memory\n");
		return 0;
	}
	for (i = 0; i < n; i++)
		if (v[i].address != NULL)
			to[k++] = v[i].address;
		else
			fprintf(stderr,
			    "authmilter: report: %s: rua %s "
			    "dropped: %s\n",
			    d->domain, v[i].uri, v[i].why);
	return k;
}

static int
send_report(
    struct run *r, const struct report_domain *d, const struct report_mail *m)
{
	const char *to[BOUND_SPOOL_RUA * (BOUND_SPOOL_RUA + 1)];
	struct report_mail mail = *m;
	struct arena *a = arena_new(4096);
	struct buf b;
	int err = 0;

	if (a == NULL)
		return -ENOMEM;
	buf_init(&b, BOUND_REPORT_MAIL_BYTES + 65536);
	mail.to = to;
	mail.to_count = destinations(r, d, a, to);
	if (mail.to_count == 0)
		printf("  not sent: no usable rua destination\n");
	else if ((err = report_mail_compose(&mail, &b)) != 0)
		fprintf(stderr,
		    "authmilter: report: %s: cannot compose the "
		    "mail: %s\n",
		    d->domain, strerror(-err));
	else if ((err = cli_pipe_to(r->sendmail, b.data, b.len)) != 0)
		fprintf(stderr, "authmilter: report: %s: \"%s\" failed\n",
		    d->domain, r->sendmail);
	else {
		printf("  sent to %zu address%s\n", mail.to_count,
		    mail.to_count == 1 ? "" : "es");
		r->state.reports_sent++;
	}
	buf_free(&b);
	arena_free(a);
	return err;
}

static int
report_one(struct day *day, const struct report_domain *d)
{
	struct run *r = day->run;
	struct buf xml, gz, name, id;
	char uid[17], *marker;
	int err;

	snprintf(uid, sizeof(uid), "%016llx",
	    (unsigned long long)id_add(day->id, d->domain));
	buf_init(&xml, (size_t)1 << 31);
	buf_init(&gz, BOUND_REPORT_MAIL_BYTES);
	buf_init(&name, 4096);
	buf_init(&id, 4096);
	buf_addf(&id, "%s@%s", uid, r->meta.submitter);
	if ((err = report_file_name(r->meta.submitter, d->domain, day->begin,
	         day->begin + DAY - 1, uid, &name)) != 0 ||
	    (err = report_xml(d, &r->meta, day->begin, day->begin + DAY - 1,
	         buf_cstr(&id), &xml)) != 0 ||
	    (err = report_gzip(xml.data, xml.len, &gz)) != 0 ||
	    (err = write_out(r->out, buf_cstr(&name), gz.data, gz.len)) != 0)
		goto out;
	printf("%s: %lu messages, %zu rows -> %s/%s\n", d->domain, d->messages,
	    d->row_count, r->out, buf_cstr(&name));
	marker = path2(r->out, buf_cstr(&name), ".sent");
	if (r->send && access(marker, F_OK) == 0)
		printf("  already sent (%s)\n", marker);
	else if (r->send) {
		struct report_mail m = {
		    .from = r->meta.email,
		    .domain = d->domain,
		    .submitter = r->meta.submitter,
		    .report_id = buf_cstr(&id),
		    .file_name = buf_cstr(&name),
		    .begin = day->begin,
		    .end = day->begin + DAY - 1,
		    .date = r->now,
		    .gz = gz.data,
		    .gz_len = gz.len,
		};

		if ((err = send_report(r, d, &m)) == 0)
			err =
			    write_out(r->out, strrchr(marker, '/') + 1, "", 0);
	}
	free(marker);
out:
	if (err != 0)
		r->state.reports_failed++;
	if (err != 0 && err != -EIO)
		fprintf(stderr, "authmilter: report: %s: %s\n", d->domain,
		    strerror(-err));
	buf_free(&xml);
	buf_free(&gz);
	buf_free(&name);
	buf_free(&id);
	return err;
}

/* process_day -- claimed files [from, to) are one day's files.
 * @return 0, or 1 when a report failed (the files go back). */
static int
process_day(struct run *r, size_t from, size_t to)
{
	const struct spool_claimed *f = spool_claim_file(r->claim, from);
	struct day d = {.run = r, .begin = f->start};
	const struct report_domain *dom;
	size_t i, n;
	int err = 0, failed = 0;

	if ((d.agg = report_agg_new()) == NULL)
		return 1;
	for (i = from; i < to && err == 0; i++) {
		f = spool_claim_file(r->claim, i);
		d.id = id_add(id_add(d.id, f->dir), f->name);
		err = spool_read_file(f->path, add_record, warn_line, &d, NULL);
		if (err != 0 && err != -E2BIG && err != -ENOMEM)
			fprintf(stderr, "authmilter: report: %s: %s\n", f->path,
			    strerror(-err));
	}
	n = err == 0 ? report_agg_finish(d.agg) : 0;
	for (i = 0; i < n; i++) {
		dom = report_agg_domain(d.agg, i);
		if (report_one(&d, dom) != 0)
			failed = 1;
	}
	failed |= err != 0;
	for (i = from; i < to; i++)
		(void)(failed ? spool_claim_release(r->claim, i)
		              : spool_claim_done(r->claim, i));
	report_agg_free(d.agg);
	return failed;
}

static void
warn_claim(void *ctx, const char *path, unsigned long line, const char *why)
{
	fprintf(stderr, "authmilter: report: %s: %s\n", path, why);
}

static int
run_report(struct run *r)
{
	struct spool_claim_options o = {.kind = SPOOL_AGGREGATE,
	    .first = r->first_day,
	    .last = r->last_day,
	    .now = r->now,
	    .grace = r->grace,
	    .dry_run = r->dry_run,
	    .warn = warn_claim};
	size_t i, j, n;
	int err, failed = 0;

	if (spool_claim_new(&o, &r->claim) != 0)
		return CLI_EXIT_USAGE;
	for (i = 0; i < r->ndirs; i++)
		if ((err = spool_claim_dir(r->claim, r->dirs[i])) != 0) {
			fprintf(stderr, "authmilter: report: %s: %s\n",
			    r->dirs[i], strerror(-err));
			return CLI_EXIT_USAGE;
		}
	n = spool_claim_count(r->claim);
	for (i = 0; i < n; i = j) {
		for (j = i; j < n && spool_claim_file(r->claim, j)->start ==
		                         spool_claim_file(r->claim, i)->start;
		     j++)
			;
		failed |= process_day(r, i, j);
	}
	if (n == 0)
		fprintf(stderr, "authmilter: report: no complete spool day in "
		                "the period\n");
	return failed ? CLI_EXIT_FAIL : CLI_EXIT_OK;
}

/* ---- options ---- */

enum {
	OPT_SPOOL = 256,
	OPT_OUT,
	OPT_PERIOD,
	OPT_ORG,
	OPT_EMAIL,
	OPT_SUBMITTER,
	OPT_SEND,
	OPT_SENDMAIL,
	OPT_NOREPORTS,
	OPT_ZONE,
	OPT_GRACE,
	OPT_DRYRUN,
	OPT_NOW,
	OPT_NAMESERVER,
	OPT_ORGDOMAIN,
	OPT_PSL,
	OPT_CONFIG,
	OPT_HELP
};

static const struct option options[] = {
    {"spool", required_argument, NULL, OPT_SPOOL},
    {"out", required_argument, NULL, OPT_OUT},
    {"period", required_argument, NULL, OPT_PERIOD},
    {"org-name", required_argument, NULL, OPT_ORG},
    {"email", required_argument, NULL, OPT_EMAIL},
    {"submitter", required_argument, NULL, OPT_SUBMITTER},
    {"send", no_argument, NULL, OPT_SEND},
    {"sendmail", required_argument, NULL, OPT_SENDMAIL},
    {"no-reports-to", required_argument, NULL, OPT_NOREPORTS},
    {"zone", required_argument, NULL, OPT_ZONE},
    {"nameserver", required_argument, NULL, OPT_NAMESERVER},
    {"grace", required_argument, NULL, OPT_GRACE},
    {"dry-run", no_argument, NULL, OPT_DRYRUN},
    {"now", required_argument, NULL, OPT_NOW}, /* tests: the clock */
    {"org-domain", required_argument, NULL, OPT_ORGDOMAIN},
    {"psl", required_argument, NULL, OPT_PSL},
    {"config", required_argument, NULL, OPT_CONFIG},
    {"help", no_argument, NULL, OPT_HELP},
    {NULL, 0, NULL, 0},
};

static int
bad(const char *what, const char *arg)
{
	fprintf(stderr, "authmilter: report: %s%s%s%s\n", what,
	    arg ? " \"" : "", arg ? arg : "", arg ? "\"" : "");
	return -EINVAL;
}

static int
parse_options(struct run *r, int argc, char **argv, const char **period,
    const char **zone, const char **ns)
{
	char *end;
	int c;

	while ((c = getopt_long(argc, argv, "", options, NULL)) != -1) {
		switch (c) {
		case OPT_SPOOL:
			if (r->ndirs == MAX_DIRS)
				return bad("too many --spool", NULL);
			r->dirs[r->ndirs++] = optarg;
			break;
		case OPT_OUT:
			r->out = optarg;
			break;
		case OPT_PERIOD:
			*period = optarg;
			break;
		case OPT_ORG:
			r->meta.org_name = optarg;
			break;
		case OPT_EMAIL:
			r->meta.email = optarg;
			break;
		case OPT_SUBMITTER:
			r->meta.submitter = optarg;
			break;
		case OPT_SEND:
			r->send = true;
			break;
		case OPT_SENDMAIL:
			r->sendmail = optarg;
			break;
		case OPT_ZONE:
			*zone = optarg;
			break;
		case OPT_NAMESERVER:
			*ns = optarg;
			break;
		case OPT_DRYRUN:
			r->dry_run = true;
			break;
		case OPT_NOREPORTS:
			if (r->nsuppress == MAX_DIRS)
				return bad("too many --no-reports-to", NULL);
			r->suppress[r->nsuppress++] = optarg;
			break;
		case OPT_GRACE:
		case OPT_NOW:
			errno = 0;
			(c == OPT_GRACE
			        ? (void)(r->grace = strtol(optarg, &end, 10))
			        : (void)(r->now = (time_t)strtoll(
			                     optarg, &end, 10)));
			if (errno != 0 || *end != '\0' || end == optarg)
				return bad("not a number:", optarg);
			break;
		case OPT_ORGDOMAIN:
			if (orgdomain_method_parse(optarg, &r->org_opt.method) <
			    0)
				return bad(
				    "--org-domain: want treewalk or psl:",
				    optarg);
			break;
		case OPT_PSL:
			r->org_opt.psl_path = optarg;
			break;
		case OPT_CONFIG:
			r->config_path = optarg;
			break;
		case OPT_HELP:
			usage(stdout);
			return 1;
		default:
			return -EINVAL;
		}
	}
	if (optind != argc)
		return bad("unexpected argument", argv[optind]);
	return 0;
}

/* Defaults from the milter's configuration file, for what the command
 * line did not say. */
static int
config_defaults(struct run *r, const char **ns)
{
	static char out[4096];
	struct config *c;
	struct buf errors;
	size_t i;

	buf_init(&errors, 65536);
	if (config_load(r->config_path, &r->cfg, &errors) != 0) {
		fprintf(stderr, "%s", buf_cstr(&errors));
		buf_free(&errors);
		return bad("cannot use the configuration", r->config_path);
	}
	buf_free(&errors);
	c = r->cfg;
	if (r->ndirs == 0 && c->spool_dir != NULL)
		r->dirs[r->ndirs++] = c->spool_dir;
	if (r->out == NULL && c->spool_dir != NULL) {
		snprintf(out, sizeof(out), "%s/reports", c->spool_dir);
		r->out = out;
	}
	if (r->meta.org_name == NULL)
		r->meta.org_name = c->report_org_name;
	if (r->meta.email == NULL)
		r->meta.email = c->report_email;
	for (i = 0; i < c->no_reports_to.n && r->nsuppress < MAX_DIRS; i++)
		r->suppress[r->nsuppress++] = c->no_reports_to.v[i];
	cli_report_lookups(c, &r->org_opt, ns);
	return 0;
}

void
cli_report_lookups(
    const struct config *c, struct orgdomain_options *org, const char **ns)
{
	static char nsbuf[512];

	if (org->method == ORGDOMAIN_TREEWALK &&
	    c->org_domain == CONFIG_ORGDOMAIN_PSL)
		org->method = ORGDOMAIN_PSL;
	if (org->psl_path == NULL)
		org->psl_path = c->public_suffix_list;
	if (*ns == NULL && c->n_nameservers > 0) {
		snprintf(nsbuf, sizeof(nsbuf), "%s@%u", c->nameservers[0].addr,
		    c->nameservers[0].port);
		*ns = nsbuf;
	}
}

static int
check_options(struct run *r, const char *period)
{
	const char *at;

	if (r->meta.org_name == NULL)
		r->meta.org_name = getenv("AUTHMILTER_REPORT_ORG_NAME");
	if (r->meta.email == NULL)
		r->meta.email = getenv("AUTHMILTER_REPORT_EMAIL");
	if (r->ndirs == 0 || r->out == NULL)
		return bad("--spool and --out are required", NULL);
	if (r->meta.org_name == NULL || r->meta.email == NULL)
		return bad(
		    "--org-name and --email are required (or "
		    "AUTHMILTER_REPORT_ORG_NAME / AUTHMILTER_REPORT_EMAIL)",
		    NULL);
	if ((at = strrchr(r->meta.email, '@')) == NULL || at[1] == '\0')
		return bad("--email is not an address:", r->meta.email);
	if (r->meta.submitter == NULL)
		r->meta.submitter = at + 1;
	if (parse_period(r, period) != 0)
		return bad("--period must be yesterday, all, YYYY-MM-DD or "
		           "YYYY-MM-DD..YYYY-MM-DD, not",
		    period);
	if (r->grace < 0)
		return bad("--grace must not be negative", NULL);
	return 0;
}

/* resolver -- the zone file, else (only --send needs DNS) a stub
 * resolver */
static int
resolver(struct run *r, const char *zone, const char *ns)
{
	struct dns_ldns_options opt = {.nameservers = ns};
	const char *lwhy = NULL;
	char *why = NULL;

	if (zone == NULL && !r->send)
		return 0;
	if (zone == NULL) {
		if (dns_ldns_new(&opt, &r->dns, &lwhy) == 0)
			return 0;
		fprintf(stderr, "authmilter: report: resolver: %s\n",
		    lwhy ? lwhy : "cannot start");
		return -EINVAL;
	}
	r->dns = dns_zone_new();
	if (dns_zone_load(r->dns, zone, &why) != 0) {
		fprintf(stderr, "authmilter: report: %s\n", why ? why : zone);
		free(why);
		return -EINVAL;
	}
	return 0;
}

/* record_run -- add this run to the first spool directory's state file
 * (report_state.h), which the daemon's metrics endpoint reads; a dry run
 * changes nothing. A state that cannot be written is a warning: the
 * reports are what matters. */
static void
record_run(struct run *r, int status)
{
	int err;

	if (r->dry_run || r->ndirs == 0)
		return;
	r->state.runs = 1;
	r->state.runs_failed = status != CLI_EXIT_OK;
	r->state.last_run = (uint64_t)time(NULL);
	r->state.last_success = status == CLI_EXIT_OK ? r->state.last_run : 0;
	if ((err = report_state_add(r->dirs[0], &r->state)) != 0)
		fprintf(stderr, "authmilter: report: warning: %s/%s: %s\n",
		    r->dirs[0], REPORT_STATE_FILE, strerror(-err));
}

int
cli_report(int argc, char **argv)
{
	struct run r = {.grace = 300,
	    .sendmail = "/usr/sbin/sendmail -t -oi",
	    .meta.generator = "authmilter " AUTHMILTER_VERSION};
	const char *period = "yesterday", *zone = NULL, *ns = NULL;
	const char *why = NULL;
	int err, status;

	for (err = 1; err < argc; err++)
		if (strcmp(argv[err], "--failures") == 0)
			return cli_report_failures(argc, argv);
	r.now = time(NULL);
	if ((err = parse_options(&r, argc, argv, &period, &zone, &ns)) != 0)
		return err > 0 ? CLI_EXIT_OK : CLI_EXIT_USAGE;
	if (r.config_path != NULL && config_defaults(&r, &ns) != 0) {
		config_unref(r.cfg);
		return CLI_EXIT_USAGE;
	}
	if (check_options(&r, period) != 0 || resolver(&r, zone, ns) != 0) {
		dns_resolver_free(r.dns);
		config_unref(r.cfg);
		return CLI_EXIT_USAGE;
	}
	if (mkdir(r.out, 0750) != 0 && errno != EEXIST) {
		fprintf(stderr, "authmilter report: --out %s: %s\n", r.out,
		    strerror(errno));
		dns_resolver_free(r.dns);
		config_unref(r.cfg);
		return CLI_EXIT_USAGE;
	}
	if (orgdomain_new(&r.org_opt, &r.org, &why) != 0) {
		fprintf(stderr, "authmilter report: public suffix list: %s\n",
		    why != NULL ? why : "cannot be loaded");
		dns_resolver_free(r.dns);
		config_unref(r.cfg);
		return CLI_EXIT_USAGE;
	}
	signal(SIGPIPE, SIG_IGN); /* a dying sendmail is an error */
	status = run_report(&r);
	record_run(&r, status);
	spool_claim_free(r.claim);
	orgdomain_free(r.org);
	config_unref(r.cfg);
	dns_resolver_free(r.dns);
	return status;
}
