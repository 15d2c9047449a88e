/*
 * cli_report_failures.c -- `authmilter report --failures`: the DMARC
 * failure reports (RFC 9991) of the failure records in the spool, as ARF
 * mail (report_arf.h) handed to sendmail. Run by a systemd timer every few
 * minutes and by hand; the milter only writes the records.
 *
 * One run:
 *  1. takes an flock on SPOOL/failure-rate.lock, so runs do not overlap,
 *     and reads the rate-limit state SPOOL/failure-rate (failure_rate.h)
 *     and the redaction secret SPOOL/failure-secret (16 random bytes,
 *     made on first use, mode 0600);
 *  2. claims the failure files whose minute is over by --grace seconds
 *     (spool_claim.h, kind SPOOL_FAILURE), so of two runs one gets each;
 *  3. per record: leaves out each destination the state says the record
 *     went to already (a "sent:ID:ADDRESS" marker, ID a hash of the
 *     record's time, header section and policy domain: a run that died
 *     after sending leaves its claim to the next run, which must not
 *     send again, and a record written back keeps its ID); drops it, counted,
 * past the policy domain's rate limit (FailureReportsRateDomain) or the cap per
 * run (FailureReportsMaxPerRun); checks each ruf address (never ours or on
 * NoReportsTo; outside the policy domain's organization only with the RFC 9990
 * section 4 authorization record, the ruf tag standing for rua) and its own
 * rate limit (FailureReportsRateTo); builds the report and pipes it to
 * --sendmail;
 *  4. a record whose send failed, or whose destinations could not be
 *     checked for a temporary DNS failure (only those destinations), is
 *     written back to the spool for the next run (at most
 *     BOUND_FAILURE_ATTEMPTS tries); a sent one gets its marker and
 *     counts against the limits, and the state file is saved (atomic
 *     rename) after every send;
 *  5. the claimed files are then deleted: failure records hold message
 *     headers, so nothing is kept once they are reported (unlike the
 *     aggregate spool's processed/).
 * The last line on standard error counts what was sent, retried, and
 * suppressed by each limit.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "authmilter/config.h"
#include "authmilter/failure.h"
#include "authmilter/failure_rate.h"
#include "authmilter/orgdomain.h"
#include "authmilter/report.h"
#include "authmilter/report_arf.h"
#include "authmilter/spool_claim.h"
#include "authmilter/xalloc.h"
#include "cli.h"

#define MAX_LIST 64
/* sent markers outlive the claim they protect by far */
#define SENT_KEEP (2 * 86400)

/* the fixed key of record ids (not secret: an id only tells lines
 * apart) */
static const struct hash_key id_key = {
    0x6661696c75726521ull, 0x617574686d696c74ull};

struct frun {
	const char *dirs[MAX_LIST];
	size_t ndirs;
	const char *from, *org_name, *sendmail;
	const char *bcc[MAX_LIST], *suppress[MAX_LIST];
	size_t nbcc, nsuppress;
	bool redact;
	struct failure_rate_limit rate_domain, rate_to;
	unsigned long max_per_run;
	long grace;
	time_t now;
	const char *config_path;
	struct config *cfg;
	struct failure_options fo;
	struct orgdomain_options org_opt;
	struct orgdomain *org;
	struct dns_resolver *dns;
	struct hash_key secret;
	struct failure_rate *rate;
	char *rate_path;
	struct buf retry; /* lines to write back, each ending in "\n" */
	/* counts */
	unsigned long records, sent, retried, already, gave_up, dropped;
	unsigned long over_domain, over_to, over_run, invalid;
	bool failed;
};

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: authmilter report --failures [--config FILE] --spool "
	    "DIR...\n"
	    "           [--email ADDR] [--org-name NAME] [--sendmail CMD]\n"
	    "           [--zone FILE | --nameserver IP[@PORT]] [--bcc "
	    "ADDR...]\n"
	    "           [--no-reports-to ADDR|DOMAIN...] [--redact | "
	    "--no-redact]\n"
	    "           [--rate-domain N/PERIOD] [--rate-to N/PERIOD] [--max "
	    "N]\n"
	    "           [--grace SECONDS] [--org-domain treewalk|psl [--psl "
	    "FILE]]\n\n"
	    "Sends the DMARC failure reports (RFC 9991, ARF) of the failure "
	    "records\n"
	    "the milter (FailureReports yes) or `verify --failure-reports` "
	    "wrote to\n"
	    "the spool, through CMD (default ReportCommand, else\n"
	    "\"/usr/sbin/sendmail -t -oi\"), From --email "
	    "(FailureReportsSentBy or\n"
	    "ReportEmail). Records are claimed once their minute is over by "
	    "--grace\n"
	    "seconds (default 60); each is sent once; a failed send, or a "
	    "temporary\n"
	    "DNS failure checking an external destination, leaves it for the "
	    "next\n"
	    "run. Rate limits (default 1/600 per policy domain, 5/600 per "
	    "address)\n"
	    "and the cap per run (default 100) drop reports and count them.\n"
	    "--config FILE takes every default from authmilter.conf.\n"
	    "Exit: 0 ok, 1 something is left for the next run, 2 usage or "
	    "I/O.\n");
}

static int
bad(const char *what, const char *arg)
{
	fprintf(stderr, "authmilter: report --failures: %s%s%s%s\n", what,
	    arg ? " \"" : "", arg ? arg : "", arg ? "\"" : "");
	return -EINVAL;
}

/* ---- DNS and organizational domains ---- */

static int
frun_orgdomain(void *ctx, const char *domain, struct buf *ret)
{
	const struct frun *r = ctx;

	return cli_orgdomain_of(r->org, r->dns, domain, ret);
}

/* spf_record -- the v=spf1 TXT record of domain, for SPF-DNS (arena
 * copy), or NULL. */
static const char *
spf_record(struct frun *r, struct arena *a, const char *domain)
{
	struct dns_answer *ans = NULL;
	const char *rec = NULL;
	size_t i;

	if (dns_query(r->dns, domain, DNS_T_TXT, &ans) != 0)
		return NULL;
	for (i = 0; ans->status == DNS_OK && i < ans->count; i++)
		if (ans->rrs[i].len >= 6 &&
		    (ans->rrs[i].len == 6 || ans->rrs[i].data[6] == ' ') &&
		    strncasecmp((const char *)ans->rrs[i].data, "v=spf1", 6) ==
		        0) {
			rec =
			    arena_memdup(a, ans->rrs[i].data, ans->rrs[i].len);
			break;
		}
	dns_answer_unref(ans);
	return rec;
}

/* ---- state: the secret, the limits and the sent markers ---- */

static int
load_secret(struct frun *r)
{
	char *path = xmalloc(strlen(r->dirs[0]) + 32);
	uint8_t k[16];
	ssize_t n = 0;
	int fd, err = 0;

	sprintf(path, "%s/failure-secret", r->dirs[0]);
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0 && errno == ENOENT) {
		/* first run: 16 bytes from the kernel, readable by us only */
		if (getrandom(k, sizeof(k), 0) != (ssize_t)sizeof(k))
			err = -EIO;
		else if ((fd = open(path,
		              O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC |
		                  O_NOFOLLOW,
		              0600)) >= 0) {
			if (write(fd, k, sizeof(k)) != (ssize_t)sizeof(k) ||
			    fsync(fd) != 0)
				err = -EIO;
			close(fd);
			fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
		}
	}
	if (fd < 0 && err == 0)
		err = -errno;
	if (fd >= 0) {
		n = read(fd, k, sizeof(k));
		close(fd);
	}
	if (err == 0 && n != (ssize_t)sizeof(k))
		err = -EINVAL;
	if (err != 0)
		fprintf(stderr, "authmilter: report --failures: %s: %s\n", path,
		    strerror(-err));
	memcpy(&r->secret.k0, k, 8);
	memcpy(&r->secret.k1, k + 8, 8);
	free(path);
	return err;
}

static void
save_state(struct frun *r)
{
	int64_t keep = SENT_KEEP;
	int err;

	if (r->rate_domain.seconds > keep)
		keep = r->rate_domain.seconds;
	if (r->rate_to.seconds > keep)
		keep = r->rate_to.seconds;
	if ((err = failure_rate_save(r->rate, r->rate_path, r->now, keep)) !=
	    0) {
		fprintf(stderr, "authmilter: report --failures: %s: %s\n",
		    r->rate_path, strerror(-err));
		r->failed = true;
	}
}

/* ---- one record ---- */

/* requeue -- write the record back for the next run, with its ruf list
 * cut to what is left and one more attempt. */
static void
requeue(struct frun *r, const struct failure_record *rec,
    const char *const *ruf, size_t nruf, bool admitted, const char *why)
{
	struct failure_record again = *rec;
	const char *jwhy;

	if (rec->attempts + 1 >= BOUND_FAILURE_ATTEMPTS) {
		fprintf(stderr,
		    "authmilter: report --failures: %s: given up "
		    "after %u tries (%s)\n",
		    rec->policy_domain, rec->attempts + 1, why);
		r->gave_up++;
		return;
	}
	again.attempts++;
	again.ruf = ruf;
	again.ruf_count = nruf;
	again.admitted = admitted;
	if (failure_record_to_json(&again, &r->retry, &jwhy) == 0)
		buf_addc(&r->retry, '\n');
	r->retried++;
	r->failed = true;
	fprintf(stderr,
	    "authmilter: report --failures: %s: left for the "
	    "next run (%s)\n",
	    rec->policy_domain, why);
}

/* marked -- whether the report of record id went to addr already */
static bool
marked(struct frun *r, const char *id, const char *addr)
{
	struct failure_rate_limit once = {1, SENT_KEEP};
	char key[FAILURE_RATE_KEY_MAX + 1];

	snprintf(key, sizeof(key), "sent:%s:%s", id, addr);
	return !failure_rate_allows(r->rate, key, &once, r->now);
}

static void
take(struct frun *r, const char *prefix, const char *what,
    const struct failure_rate_limit *l)
{
	char key[FAILURE_RATE_KEY_MAX + 1];

	snprintf(key, sizeof(key), "%s%s", prefix, what);
	if (failure_rate_take(r->rate, key, l, r->now) != 0)
		fprintf(stderr,
		    "authmilter: report --failures: rate state: "
		    "cannot count %s\n",
		    key);
}

/* The addresses one record goes to now, and the ruf URIs to try again
 * later (temporary DNS failures of the external check). */
struct dests {
	const char *to[BOUND_DMARC_URIS * (BOUND_DMARC_URIS + 1)];
	const char *later[BOUND_DMARC_URIS * (BOUND_DMARC_URIS + 1)];
	const char *bcc[MAX_LIST];
	size_t nto, nlater, nbcc, nmarked;
};

static void
destinations(struct frun *r, const struct failure_record *rec, const char *id,
    struct arena *a, struct dests *ds)
{
	struct spool_policy_published p = {.domain = rec->policy_domain,
	    .p = rec->policy,
	    .rua = rec->ruf,
	    .rua_count = rec->ruf_count};
	struct report_dest_options o = {.dns = r->dns,
	    .orgdomain = frun_orgdomain,
	    .orgdomain_ctx = r,
	    .tag = "ruf",
	    .suppress = r->suppress,
	    .suppress_count = r->nsuppress};
	struct report_dest *d;
	char key[FAILURE_RATE_KEY_MAX + 1];
	size_t n = 0, i;

	memset(ds, 0, sizeof(*ds));
	for (i = 0; i < r->nbcc; i++)
		if (!marked(r, id, r->bcc[i]))
			ds->bcc[ds->nbcc++] = r->bcc[i];
		else
			ds->nmarked++;
	if (rec->ruf_count == 0 || report_destinations(&p, &o, a, &d, &n) != 0)
		return;
	for (i = 0; i < n; i++) {
		if (d[i].address == NULL) {
			if (d[i].temporary)
				ds->later[ds->nlater++] = d[i].uri;
			else
				fprintf(stderr,
				    "authmilter: report --failures:"
				    " %s: ruf %s dropped: %s\n",
				    rec->policy_domain, d[i].uri, d[i].why);
			continue;
		}
		if (failure_own_destination(&r->fo, d[i].address)) {
			fprintf(stderr,
			    "authmilter: report --failures: %s: "
			    "ruf %s dropped: ours or on NoReportsTo\n",
			    rec->policy_domain, d[i].uri);
			continue;
		}
		if (marked(r, id, d[i].address)) {
			ds->nmarked++;
			continue;
		}
		snprintf(key, sizeof(key), "to:%s", d[i].address);
		if (!failure_rate_allows(r->rate, key, &r->rate_to, r->now)) {
			r->over_to++;
			continue;
		}
		ds->to[ds->nto++] = d[i].address;
	}
}

static int
send_record(struct frun *r, const struct failure_record *rec,
    const struct dests *ds, const char *id, struct arena *a)
{
	struct report_arf m = {.rec = rec,
	    .from = r->from,
	    .to = ds->to,
	    .to_count = ds->nto,
	    .bcc = ds->bcc,
	    .bcc_count = ds->nbcc,
	    .user_agent = "authmilter/" AUTHMILTER_VERSION,
	    .date = r->now,
	    .redact = r->redact,
	    .redact_key = &r->secret};
	struct buf mail, mid;
	int err;

	buf_init(&mid, 512);
	buf_addf(&mid, "%s.%lld.failure@%s", id, (long long)r->now,
	    strrchr(r->from, '@') + 1);
	m.message_id = buf_cstr(&mid);
	if (rec->spf.domain != NULL && rec->spf.aligned &&
	    rec->spf.result != AUTH_PASS)
		m.spf_dns = spf_record(r, a, rec->spf.domain);
	buf_init(&mail, BOUND_REPORT_MAIL_BYTES + 65536);
	if ((err = report_arf_compose(&m, &mail)) != 0)
		fprintf(stderr,
		    "authmilter: report --failures: %s: cannot "
		    "compose the report: %s\n",
		    rec->policy_domain, strerror(-err));
	else if ((err = cli_pipe_to(r->sendmail, mail.data, mail.len)) != 0)
		fprintf(stderr,
		    "authmilter: report --failures: %s: \"%s\" "
		    "failed\n",
		    rec->policy_domain, r->sendmail);
	buf_free(&mail);
	buf_free(&mid);
	return err;
}

static int
one_record(struct frun *r, const struct failure_record *rec, const char *id,
    struct arena *a)
{
	struct failure_rate_limit once = {1, SENT_KEEP};
	char key[FAILURE_RATE_KEY_MAX + 1];
	struct dests ds;
	size_t i;

	if (r->sent >= r->max_per_run) {
		r->over_run++;
		return 0;
	}
	snprintf(key, sizeof(key), "domain:%s", rec->policy_domain);
	if (!rec->admitted &&
	    !failure_rate_allows(r->rate, key, &r->rate_domain, r->now)) {
		r->over_domain++;
		return 0;
	}
	destinations(r, rec, id, a, &ds);
	if (ds.nto == 0 && ds.nbcc == 0) {
		if (ds.nlater > 0)
			requeue(r, rec, ds.later, ds.nlater, rec->admitted,
			    "external destination not verified: temporary "
			    "DNS failure");
		else if (ds.nmarked > 0)
			r->already++;
		else
			r->dropped++;
		return 0;
	}
	if (send_record(r, rec, &ds, id, a) != 0) {
		requeue(r, rec, rec->ruf, rec->ruf_count, rec->admitted,
		    "send failed");
		return 0;
	}
	r->sent++;
	for (i = 0; i < ds.nto; i++) {
		snprintf(key, sizeof(key), "sent:%s:%s", id, ds.to[i]);
		take(r, "", key, &once);
		take(r, "to:", ds.to[i], &r->rate_to);
	}
	for (i = 0; i < ds.nbcc; i++) {
		snprintf(key, sizeof(key), "sent:%s:%s", id, ds.bcc[i]);
		take(r, "", key, &once);
	}
	if (!rec->admitted)
		take(r, "domain:", rec->policy_domain, &r->rate_domain);
	save_state(r);
	if (ds.nlater > 0)
		requeue(r, rec, ds.later, ds.nlater, true,
		    "external "
		    "destination not verified: temporary DNS failure");
	return 0;
}

/* spool_line_fn: parse, then act */
static int
on_line(void *ctx, const char *line, size_t len, const char *path,
    unsigned long lineno, const char **ret_why)
{
	struct frun *r = ctx;
	struct failure_record rec;
	struct arena *a = arena_new(65536);
	char id[17];
	int err;

	if (a == NULL)
		return -ENOMEM;
	err = failure_record_from_json(line, len, a, &rec, ret_why);
	if (err == 0) {
		r->records++;
		/* the message's identity, the same after a requeue */
		snprintf(id, sizeof(id), "%016llx",
		    (unsigned long long)(hash_keyed(&id_key, (uint64_t)rec.time,
		                             rec.headers, rec.headers_len) ^
		                         hash_keyed(&id_key, 1,
		                             rec.policy_domain,
		                             strlen(rec.policy_domain))));
		err = one_record(r, &rec, id, a);
	}
	arena_free(a);
	(void)path;
	(void)lineno;
	return err;
}

static void
on_warn(void *ctx, const char *path, unsigned long line, const char *why)
{
	struct frun *r = ctx;

	r->invalid++;
	fprintf(stderr, "authmilter: report --failures: %s:%lu: %s\n", path,
	    line, why);
}

/* done -- a claimed file is reported: it goes, with what it held */
static void
file_done(struct spool_claim *c, size_t i)
{
	const struct spool_claimed *f = spool_claim_file(c, i);
	char *p = xmalloc(strlen(f->dir) + strlen(f->name) + 16);

	sprintf(p, "%s/processed/%s", f->dir, f->name);
	if (spool_claim_done(c, i) == 0 && unlink(p) != 0 && errno != ENOENT)
		fprintf(stderr, "authmilter: report --failures: %s: %s\n", p,
		    strerror(errno));
	free(p);
}

static int
run_files(struct frun *r)
{
	struct spool_claim_options co = {.kind = SPOOL_FAILURE,
	    .first = 0,
	    .last = r->now,
	    .now = r->now,
	    .grace = r->grace};
	struct spool_claim *c;
	const char *why;
	size_t i, n;
	int err;

	if (spool_claim_new(&co, &c) != 0)
		return -ENOMEM;
	for (i = 0; i < r->ndirs; i++)
		if ((err = spool_claim_dir(c, r->dirs[i])) != 0)
			fprintf(stderr,
			    "authmilter: report --failures: %s: "
			    "%s\n",
			    r->dirs[i], strerror(-err));
	n = spool_claim_count(c);
	for (i = 0; i < n; i++) {
		const struct spool_claimed *f = spool_claim_file(c, i);

		buf_reset(&r->retry);
		err = spool_read_lines(
		    f->path, SPOOL_FAILURE, on_line, on_warn, r, NULL);
		if (err != 0) {
			fprintf(stderr,
			    "authmilter: report --failures: %s: "
			    "%s\n",
			    f->path, strerror(-err));
			r->failed = true;
			spool_claim_release(c, i);
			continue;
		}
		/* what is left goes back before the file goes */
		err = 0;
		for (const char *p = r->retry.data, *nl;
		     err == 0 && p != NULL &&
		     (nl = memchr(p, '\n',
		          r->retry.len - (size_t)(p - r->retry.data))) != NULL;
		     p = nl + 1)
			err = spool_append_line(f->dir, SPOOL_FAILURE, "retry",
			    r->now, p, (size_t)(nl - p), NULL);
		if (err != 0 || buf_error(&r->retry) != 0) {
			why = err != 0 ? strerror(-err) : "out of memory";
			fprintf(stderr,
			    "authmilter: report --failures: %s: "
			    "cannot write back: %s\n",
			    f->dir, why);
			r->failed = true;
			spool_claim_release(c, i);
			continue;
		}
		file_done(c, i);
	}
	spool_claim_free(c);
	return 0;
}

/* ---- options ---- */

enum {
	OPT_FAILURES = 256,
	OPT_SPOOL,
	OPT_EMAIL,
	OPT_ORG,
	OPT_SENDMAIL,
	OPT_ZONE,
	OPT_NAMESERVER,
	OPT_BCC,
	OPT_NOREPORTS,
	OPT_REDACT,
	OPT_NOREDACT,
	OPT_RATE_DOMAIN,
	OPT_RATE_TO,
	OPT_MAX,
	OPT_GRACE,
	OPT_NOW,
	OPT_ORGDOMAIN,
	OPT_PSL,
	OPT_CONFIG,
	OPT_HELP
};

static const struct option options[] = {
    {"failures", no_argument, NULL, OPT_FAILURES},
    {"spool", required_argument, NULL, OPT_SPOOL},
    {"email", required_argument, NULL, OPT_EMAIL},
    {"org-name", required_argument, NULL, OPT_ORG},
    {"sendmail", required_argument, NULL, OPT_SENDMAIL},
    {"zone", required_argument, NULL, OPT_ZONE},
    {"nameserver", required_argument, NULL, OPT_NAMESERVER},
    {"bcc", required_argument, NULL, OPT_BCC},
    {"no-reports-to", required_argument, NULL, OPT_NOREPORTS},
    {"redact", no_argument, NULL, OPT_REDACT},
    {"no-redact", no_argument, NULL, OPT_NOREDACT},
    {"rate-domain", required_argument, NULL, OPT_RATE_DOMAIN},
    {"rate-to", required_argument, NULL, OPT_RATE_TO},
    {"max", required_argument, NULL, OPT_MAX},
    {"grace", required_argument, NULL, OPT_GRACE},
    {"now", required_argument, NULL, OPT_NOW}, /* tests: the clock */
    {"org-domain", required_argument, NULL, OPT_ORGDOMAIN},
    {"psl", required_argument, NULL, OPT_PSL},
    {"config", required_argument, NULL, OPT_CONFIG},
    {"help", no_argument, NULL, OPT_HELP},
    {NULL, 0, NULL, 0},
};

static int
add_list(const char **v, size_t *n, const char *s, const char *what)
{
	if (*n == MAX_LIST)
		return bad(what, NULL);
	v[(*n)++] = s;
	return 0;
}

static int
number(const char *s, long long min, long long max, long long *ret)
{
	char *end;

	errno = 0;
	*ret = strtoll(s, &end, 10);
	if (errno != 0 || *end != '\0' || end == s || *ret < min || *ret > max)
		return bad("not a number in range:", s);
	return 0;
}

static int
parse(struct frun *r, int argc, char **argv, const char **zone, const char **ns,
    int *redact)
{
	long long v;
	int c, err = 0;

	optind = 1;
	while (err == 0 &&
	       (c = getopt_long(argc, argv, "", options, NULL)) != -1) {
		switch (c) {
		case OPT_FAILURES:
			break;
		case OPT_SPOOL:
			err = add_list(
			    r->dirs, &r->ndirs, optarg, "too many --spool");
			break;
		case OPT_EMAIL:
			r->from = optarg;
			break;
		case OPT_ORG:
			r->org_name = optarg;
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
		case OPT_BCC:
			err = add_list(
			    r->bcc, &r->nbcc, optarg, "too many --bcc");
			break;
		case OPT_NOREPORTS:
			err = add_list(r->suppress, &r->nsuppress, optarg,
			    "too many --no-reports-to");
			break;
		case OPT_REDACT:
			*redact = 1;
			break;
		case OPT_NOREDACT:
			*redact = 0;
			break;
		case OPT_RATE_DOMAIN:
		case OPT_RATE_TO:
			if (failure_rate_limit_parse(optarg,
			        c == OPT_RATE_TO ? &r->rate_to
			                         : &r->rate_domain) != 0)
				err = bad("want COUNT/PERIOD:", optarg);
			break;
		case OPT_MAX:
			if ((err = number(optarg, 1, 1000000, &v)) == 0)
				r->max_per_run = (unsigned long)v;
			break;
		case OPT_GRACE:
			if ((err = number(optarg, 0, 86400, &v)) == 0)
				r->grace = (long)v;
			break;
		case OPT_NOW:
			if ((err = number(optarg, 0, INT64_MAX / 2, &v)) == 0)
				r->now = (time_t)v;
			break;
		case OPT_ORGDOMAIN:
			if (orgdomain_method_parse(optarg, &r->org_opt.method) <
			    0)
				err = bad("--org-domain: want treewalk or psl:",
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
	if (err == 0 && optind != argc)
		err = bad("unexpected argument", argv[optind]);
	return err;
}

/* defaults -- authmilter.conf for what the command line did not say */
static int
defaults(struct frun *r, const char **ns, int redact)
{
	const struct config *c;
	struct buf errors;
	size_t i;

	buf_init(&errors, 65536);
	if (r->config_path != NULL &&
	    config_load(r->config_path, &r->cfg, &errors) != 0) {
		fprintf(stderr, "%s", buf_cstr(&errors));
		buf_free(&errors);
		return bad("cannot use the configuration", r->config_path);
	}
	if (r->cfg == NULL &&
	    config_load_mem("(defaults)", "", 0, &r->cfg, &errors) != 0) {
		buf_free(&errors);
		return -ENOMEM;
	}
	buf_free(&errors);
	c = r->cfg;
	if (r->ndirs == 0 && c->spool_dir != NULL)
		r->dirs[r->ndirs++] = c->spool_dir;
	if (r->from == NULL)
		r->from = c->failure_reports_sent_by != NULL
		              ? c->failure_reports_sent_by
		              : c->report_email;
	if (r->from == NULL)
		r->from = getenv("AUTHMILTER_REPORT_EMAIL");
	if (r->org_name == NULL)
		r->org_name = c->report_org_name;
	if (r->sendmail == NULL)
		r->sendmail = c->report_command != NULL
		                  ? c->report_command
		                  : "/usr/sbin/sendmail -t -oi";
	for (i = 0; i < c->failure_reports_bcc.n && r->nbcc < MAX_LIST; i++)
		r->bcc[r->nbcc++] = c->failure_reports_bcc.v[i];
	for (i = 0; i < c->no_reports_to.n && r->nsuppress < MAX_LIST; i++)
		r->suppress[r->nsuppress++] = c->no_reports_to.v[i];
	r->redact = redact >= 0 ? redact == 1 : c->failure_reports_redact;
	if (r->rate_domain.count == 0) {
		r->rate_domain.count = c->failure_rate_domain[0];
		r->rate_domain.seconds = c->failure_rate_domain[1];
	}
	if (r->rate_to.count == 0) {
		r->rate_to.count = c->failure_rate_to[0];
		r->rate_to.seconds = c->failure_rate_to[1];
	}
	if (r->max_per_run == 0)
		r->max_per_run = c->failure_reports_max_per_run;
	cli_report_lookups(c, &r->org_opt, ns);
	if (r->ndirs == 0)
		return bad("--spool (or SpoolDir) is required", NULL);
	if (r->from == NULL || strchr(r->from, '@') == NULL)
		return bad("--email (or FailureReportsSentBy, ReportEmail) "
		           "must be an address",
		    r->from);
	return failure_options_from_config(c, &r->fo);
}

static int
resolver(struct frun *r, const char *zone, const char *ns)
{
	struct dns_ldns_options opt = {.nameservers = ns};
	const char *lwhy = NULL;
	char *why = NULL;

	if (zone == NULL) {
		if (dns_ldns_new(&opt, &r->dns, &lwhy) == 0)
			return 0;
		return bad("resolver:", lwhy != NULL ? lwhy : "cannot start");
	}
	r->dns = dns_zone_new();
	if (dns_zone_load(r->dns, zone, &why) != 0) {
		bad(why != NULL ? why : "cannot load", zone);
		free(why);
		return -EINVAL;
	}
	return 0;
}

static int
run(struct frun *r)
{
	unsigned long bad_lines;
	const char *why = NULL;
	int lock, err;

	r->rate_path = xmalloc(strlen(r->dirs[0]) + 16);
	sprintf(r->rate_path, "%s/failure-rate", r->dirs[0]);
	if ((lock = failure_rate_lock(r->rate_path)) < 0) {
		fprintf(stderr, "authmilter: report --failures: %s.lock: %s\n",
		    r->rate_path, strerror(-lock));
		return CLI_EXIT_USAGE;
	}
	r->rate = failure_rate_new();
	if (r->rate == NULL || load_secret(r) != 0) {
		close(lock);
		return CLI_EXIT_USAGE;
	}
	err = failure_rate_load(r->rate, r->rate_path, &bad_lines, &why);
	if (err != 0 || bad_lines > 0)
		fprintf(stderr, "authmilter: report --failures: %s: %s%s%s\n",
		    r->rate_path, err != 0 ? strerror(-err) : "lines skipped: ",
		    why != NULL ? why : "",
		    err != 0 ? " (starting afresh)" : "");
	buf_init(&r->retry, (size_t)BOUND_FAILURE_RECORD_BYTES * 64);
	run_files(r);
	buf_free(&r->retry);
	close(lock);
	fprintf(stderr,
	    "authmilter: report --failures: %lu records: %lu "
	    "sent, %lu left for the next run, %lu sent before, %lu given "
	    "up, %lu without a destination; suppressed: %lu by the "
	    "policy-domain limit, %lu by the destination limit, %lu by the "
	    "cap per run; %lu lines skipped\n",
	    r->records, r->sent, r->retried, r->already, r->gave_up, r->dropped,
	    r->over_domain, r->over_to, r->over_run, r->invalid);
	return r->failed ? CLI_EXIT_FAIL : CLI_EXIT_OK;
}

int
cli_report_failures(int argc, char **argv)
{
	struct frun r;
	const char *zone = NULL, *ns = NULL, *why = NULL;
	int err, redact = -1, status = CLI_EXIT_USAGE;

	memset(&r, 0, sizeof(r));
	r.grace = 60;
	r.now = time(NULL);
	if ((err = parse(&r, argc, argv, &zone, &ns, &redact)) != 0)
		return err > 0 ? CLI_EXIT_OK : CLI_EXIT_USAGE;
	if (defaults(&r, &ns, redact) != 0 || resolver(&r, zone, ns) != 0)
		goto out;
	if (orgdomain_new(&r.org_opt, &r.org, &why) != 0) {
		bad("public suffix list:", why != NULL ? why : "cannot load");
		goto out;
	}
	signal(SIGPIPE, SIG_IGN); /* a dying sendmail is an error */
	status = run(&r);
out:
	failure_rate_free(r.rate);
	free(r.rate_path);
	orgdomain_free(r.org);
	failure_options_free(&r.fo);
	dns_resolver_free(r.dns);
	config_unref(r.cfg);
	return status;
}
