/*
 * cli_rotate.c -- `authmilter rotate`: one step of DKIM key rotation for
 * every domain of RotateDomains, then exit (a timer runs it hourly).
 *
 * Each run locks RotateStateDir/lock, reads the state file, asks
 * rotate_plan() what each domain needs, does that one step, saves the
 * state and prints one line per domain: where it stands and what it
 * waits for. A step that cannot finish (a record not visible yet, the
 * daemon not reloaded yet) changes nothing and says why; a step that
 * fails (update refused, server down, a record that is not our key)
 * changes nothing, says why, and makes the exit status 1. In both cases
 * the key that signs now keeps signing: the daemon's keys change only
 * when the state file names new current keys, which happens only after
 * every authoritative server and the resolver serve their records.
 *
 * Order of writes, so that a crash at any point leaves a state the next
 * run continues from: key files before the state that names them; the
 * state naming new current keys before SIGHUP; an old record removed in
 * DNS before the state forgets it, its file deleted last.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "authmilter/arena.h"
#include "authmilter/config_rotate.h"
#include "authmilter/dkim_key.h"
#include "authmilter/dkim_keygen.h"
#include "authmilter/dkim_keymatch.h"
#include "cli.h"
#include "cli_rotate.h"

/* How long a switch waits for the daemon's acknowledgement before it
 * leaves the confirmation to the next run (a reload loads every key
 * and table: well under a second). */
#define ROT_ACK_WAIT_MS 10000
/* Selectors tried per key when the pattern's gives one in use: base,
 * base-2 ... base-9. */
#define ROT_SELECTOR_TRIES 9
/* One key record with a revealed RSA-4096 key: about 3.3 KB of base64
 * for the private key, plus the tags. */
#define ROT_RECORD_MAX 8192

struct rot_opts {
	const char *config;
	const char *domain;
	bool dry_run;
	bool status;
	bool now_given;
	int64_t now;
};

static void
rot_usage(FILE *f)
{
	fprintf(f,
	    "usage: authmilter rotate [-c FILE] [--domain DOMAIN] [--dry-run]\n"
	    "                         [--now EPOCH] [--status]\n"
	    "\n"
	    "Take one step of DKIM key rotation for each domain of "
	    "RotateDomains\n"
	    "(generate, publish, check visible, switch, retire, reveal), "
	    "print one\n"
	    "line per domain saying where it stands and what it waits for, "
	    "and exit.\n"
	    "Safe to run at any time and as often as you like: a step happens "
	    "only\n"
	    "when the one before is confirmed.\n"
	    "\n"
	    "  -c, --config FILE   configuration (default " CONFIG_DEFAULT_PATH
	    ")\n"
	    "  -d, --domain DOMAIN only this domain\n"
	    "  -n, --dry-run       say what this run would do; change nothing, "
	    "ask no DNS\n"
	    "      --now EPOCH     the time to act at (seconds since 1970; "
	    "tests)\n"
	    "      --status        show each domain's state, ages and next "
	    "action\n"
	    "\n"
	    "Exit status: 0 every domain is fine (stepped or waiting), 1 a "
	    "step failed,\n"
	    "2 usage or configuration error.\n");
}

static int
rot_parse_args(int argc, char **argv, struct rot_opts *o)
{
	static const struct option longopts[] = {
	    {"config", required_argument, NULL, 'c'},
	    {"domain", required_argument, NULL, 'd'},
	    {"dry-run", no_argument, NULL, 'n'},
	    {"now", required_argument, NULL, 'N'},
	    {"status", no_argument, NULL, 'S'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	char *end;
	long long v;
	int c;

	while ((c = getopt_long(argc, argv, "c:d:nh", longopts, NULL)) != -1) {
		switch (c) {
		case 'c':
			o->config = optarg;
			break;
		case 'd':
			o->domain = optarg;
			break;
		case 'n':
			o->dry_run = true;
			break;
		case 'S':
			o->status = true;
			break;
		case 'N':
			errno = 0;
			v = strtoll(optarg, &end, 10);
			if (*optarg == '\0' || *end != '\0' || errno != 0 ||
			    v < 0) {
				fprintf(stderr,
				    "authmilter rotate: --now \"%s\": want "
				    "seconds since 1970\n",
				    optarg);
				return -1;
			}
			o->now = v;
			o->now_given = true;
			break;
		case 'h':
			rot_usage(stdout);
			return 1;
		default:
			rot_usage(stderr);
			return -1;
		}
	}
	if (optind != argc) {
		rot_usage(stderr);
		return -1;
	}
	return 0;
}

/* ---- small helpers ---- */

/* t as 2026-12-07T18:00:00Z into out (32 bytes). */
static const char *
rot_time(int64_t t, char *out)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (gmtime_r(&tt, &tm) == NULL ||
	    strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(out, 32, "%" PRId64, t);
	return out;
}

/* A duration as 3d4h, 2h5m or 40s into out (32 bytes). */
static const char *
rot_span(int64_t s, char *out)
{
	if (s < 0)
		s = 0;
	if (s >= 86400)
		snprintf(out, 32, "%" PRId64 "d%" PRId64 "h", s / 86400,
		    s % 86400 / 3600);
	else if (s >= 3600)
		snprintf(out, 32, "%" PRId64 "h%" PRId64 "m", s / 3600,
		    s % 3600 / 60);
	else
		snprintf(out, 32, "%" PRId64 "s", s);
	return out;
}

/* "sel1, sel2" of d's keys with role into out; "none" when there is
 * none. */
static void
rot_selectors(
    const struct rotate_domain *d, enum rotate_role role, struct buf *out)
{
	size_t i, n = 0;

	for (i = 0; i < d->n_keys; i++) {
		if (d->keys[i].role != role)
			continue;
		buf_addf(out, "%s%s", n++ ? ", " : "", d->keys[i].selector);
		if (!d->keys[i].owned)
			buf_adds(out, " (the operator's)");
	}
	if (n == 0)
		buf_adds(out, "none");
}

/* The record name of key k of d. */
static void
rot_name(const struct rotate_domain *d, const struct rotate_key *k, char *out,
    size_t cap)
{
	/* RFC 6376 section 3.6.2.1: selector._domainkey.domain */
	snprintf(out, cap, "%s._domainkey.%s", k->selector, d->name);
}

static int
rot_save(struct rot_run *r, struct buf *why)
{
	return rotate_state_save(r->state_path, &r->st, why);
}

/* The owner of dir, for the files rotation makes as root: the daemon
 * must read them as its own user. (uid_t)-1 when not root. */
static void
rot_owner(const char *dir, uid_t *uid, gid_t *gid)
{
	struct stat st;

	*uid = (uid_t)-1;
	*gid = (gid_t)-1;
	if (geteuid() == 0 && stat(dir, &st) == 0) {
		*uid = st.st_uid;
		*gid = st.st_gid;
	}
}

/* Make dir (mode) unless it exists, owned like its parent when root. */
static int
rot_mkdir(const char *dir, const char *parent, mode_t mode, struct buf *why)
{
	uid_t uid;
	gid_t gid;

	if (mkdir(dir, mode) != 0) {
		if (errno == EEXIST)
			return 0;
		buf_addf(why, "%s: %s", dir, strerror(errno));
		return -errno;
	}
	rot_owner(parent, &uid, &gid);
	if ((uid != (uid_t)-1 || gid != (gid_t)-1) &&
	    chown(dir, uid, gid) != 0) {
		buf_addf(why, "%s: %s", dir, strerror(errno));
		return -errno;
	}
	return 0;
}

/* Load the private key of k (the rules of RequireSafeKeys). */
static int
rot_load(const struct rot_run *r, const struct rotate_key *k,
    struct dkim_privkey **ret, struct buf *why)
{
	if (k->path == NULL) {
		buf_addf(why, "%s: not a key rotation made", k->selector);
		return -EINVAL;
	}
	return dkim_key_load_private(
	    k->path, !r->cfg->require_safe_keys, ret, why);
}

/* The record that publishes k (its private key loaded into *ret_key). */
static int
rot_record(const struct rot_run *r, const struct rotate_key *k,
    struct dkim_privkey **ret_key, struct buf *rec, struct buf *why)
{
	int rc = rot_load(r, k, ret_key, why);

	if (rc == 0 && (rc = dkim_keygen_record(*ret_key, 0, rec)) != 0)
		buf_addf(why, "%s: cannot make its record: %s", k->path,
		    strerror(-rc));
	return rc;
}

/* dir/selector.ext into out (PATH_MAX). @return 0 or -ENAMETOOLONG. */
static int
rot_key_path(const char *dir, const char *sel, const char *ext, char *out)
{
	int n = snprintf(out, PATH_MAX, "%s/%s.%s", dir, sel, ext);

	return n < 0 || n >= PATH_MAX ? -ENAMETOOLONG : 0;
}

/* Remove a key made by rotation: SELECTOR.private and SELECTOR.txt. */
static void
rot_delete_files(const struct rotate_key *k)
{
	char txt[PATH_MAX];
	size_t n;

	if (!k->owned || k->path == NULL)
		return;
	unlink(k->path);
	n = strlen(k->path);
	if (n > 8 && strcmp(k->path + n - 8, ".private") == 0 &&
	    n - 8 + 5 <= sizeof(txt)) {
		snprintf(txt, sizeof(txt), "%.*s.txt", (int)(n - 8), k->path);
		unlink(txt);
	}
}

/* ---- the daemon ---- */

/* Read PidFile and check the process is authmilter (a stale pid file
 * must not get another process a SIGHUP, which would end it). */
static int
rot_daemon_pid(const struct rot_run *r, pid_t *ret, struct buf *why)
{
	const char *path = r->cfg->pid_file;
	char line[32], comm[64], proc[64];
	ssize_t n;
	long pid;
	char *end;
	int fd;

	if (path == NULL) {
		buf_adds(why, "no PidFile");
		return -ENOENT;
	}
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
		buf_addf(why, "PidFile %s: %s (not running?)", path,
		    strerror(errno));
		return -errno;
	}
	n = read(fd, line, sizeof(line) - 1);
	close(fd);
	line[n > 0 ? n : 0] = '\0';
	pid = strtol(line, &end, 10);
	if (n <= 0 || pid <= 1 || (*end != '\n' && *end != '\0')) {
		buf_addf(why, "PidFile %s: no process id in it", path);
		return -EINVAL;
	}
	snprintf(proc, sizeof(proc), "/proc/%ld/comm", pid);
	if ((fd = open(proc, O_RDONLY | O_CLOEXEC)) >= 0) {
		n = read(fd, comm, sizeof(comm) - 1);
		close(fd);
		comm[n > 0 ? n : 0] = '\0';
		comm[strcspn(comm, "\n")] = '\0';
		if (strcmp(comm, "authmilter") != 0) {
			buf_addf(why,
			    "PidFile %s: process %ld is \"%s\", not "
			    "authmilter (a stale PidFile?)",
			    path, pid, comm);
			return -ESRCH;
		}
	}
	*ret = (pid_t)pid;
	return 0;
}

/* SIGHUP to the daemon, then wait for it to acknowledge generation gen.
 * @return true when it did; why says what happened otherwise. */
static bool
rot_reload(struct rot_run *r, uint64_t gen, struct buf *why)
{
	struct timespec pause = {0, 100 * 1000 * 1000};
	uint64_t have = 0;
	pid_t pid = 0;
	int i;

	if (rotate_state_ack_read(r->ack_path, &have) == 0 && have >= gen)
		return true;
	if (rot_daemon_pid(r, &pid, why) != 0)
		return false;
	if (kill(pid, SIGHUP) != 0) {
		buf_addf(why, "cannot signal the daemon (pid %ld): %s",
		    (long)pid, strerror(errno));
		return false;
	}
	for (i = 0; i < ROT_ACK_WAIT_MS / 100; i++) {
		if (rotate_state_ack_read(r->ack_path, &have) == 0 &&
		    have >= gen)
			return true;
		nanosleep(&pause, NULL);
	}
	buf_addf(why,
	    "the daemon (pid %ld) was told to reload but serves "
	    "generation %" PRIu64 ", not %" PRIu64
	    " (its log says why: a configuration that does not load "
	    "keeps the old keys signing)",
	    (long)pid, have, gen);
	return false;
}

/* ---- the steps ---- */

/* A selector for a new key of type: the pattern's, or with -2 ... -9
 * when that one is in use (by d or by a file). */
static int
rot_new_selector(const struct rot_run *r, const struct rotate_domain *d,
    const char *dir, enum dkim_key_type type, char *out, size_t cap)
{
	char base[BOUND_LABEL_LEN + 1], path[PATH_MAX];
	struct stat st;
	size_t i;
	int t;

	if (rotate_selector(
	        r->cfg->rotate.selector, r->now, type, base, sizeof(base)) != 0)
		return -EINVAL;
	for (t = 1; t <= ROT_SELECTOR_TRIES; t++) {
		if (t == 1)
			snprintf(out, cap, "%s", base);
		else if (snprintf(out, cap, "%.60s-%d", base, t) >= (int)cap)
			return -ERANGE;
		for (i = 0; i < d->n_keys; i++)
			if (strcasecmp(d->keys[i].selector, out) == 0)
				break;
		if (rot_key_path(dir, out, "private", path) != 0)
			return -ENAMETOOLONG;
		if (i == d->n_keys && lstat(path, &st) != 0)
			return 0;
	}
	return -EEXIST;
}

/* One new key of type t: SELECTOR.private (0600) and SELECTOR.txt, the
 * record in zone-file form. */
static int
rot_make_key(struct rot_run *r, struct rotate_domain *d, const char *dir,
    const struct config_rotate_type *t, struct buf *why)
{
	char sel[BOUND_LABEL_LEN + 1], path[PATH_MAX], txt[PATH_MAX];
	struct dkim_privkey *k = NULL;
	struct buf pem, rec, zone;
	uid_t uid;
	gid_t gid;
	int rc;

	if ((rc = rot_new_selector(r, d, dir, t->type, sel, sizeof(sel))) !=
	    0) {
		buf_addf(why, "no free selector from RotateSelector \"%s\"",
		    r->cfg->rotate.selector);
		return rc;
	}
	if (rot_key_path(dir, sel, "private", path) != 0 ||
	    rot_key_path(dir, sel, "txt", txt) != 0) {
		buf_addf(why, "%s: path too long", dir);
		return -ENAMETOOLONG;
	}
	rot_owner(dir, &uid, &gid);
	buf_init(&pem, 64 * 1024);
	buf_init(&rec, ROT_RECORD_MAX);
	buf_init(&zone, 2 * ROT_RECORD_MAX);
	rc = dkim_keygen_pem(t->type, t->bits, &pem);
	if (rc != 0)
		buf_addf(why, "key generation failed: %s", strerror(-rc));
	if (rc == 0 &&
	    (rc = dkim_privkey_parse(pem.data, pem.len, &k, why)) == 0)
		rc = dkim_keygen_record(k, 0, &rec);
	if (rc == 0) {
		dkim_keygen_zone_text(sel, d->name, r->cfg->rotate.ttl,
		    rec.data, rec.len, "authmilter rotate", &zone);
		rc = buf_error(&zone);
	}
	if (rc == 0)
		rc = cli_write_new(
		    path, pem.data, pem.len, 0600, false, uid, gid, why);
	if (rc == 0 && (rc = cli_write_new(txt, zone.data, zone.len, 0644, true,
	                    uid, gid, why)) != 0)
		unlink(path);
	if (rc == 0 && rotate_state_add_key(d, ROTATE_NEXT, t->type, sel, true,
	                   r->now, path) == NULL) {
		unlink(path);
		unlink(txt);
		rc = -ENOMEM;
	}
	OPENSSL_cleanse(pem.data, pem.len);
	dkim_privkey_unref(k);
	buf_free(&pem);
	buf_free(&rec);
	buf_free(&zone);
	return rc;
}

static int
rot_generate(struct rot_run *r, struct rotate_domain *d, struct buf *line)
{
	const struct config_rotate *cr = &r->cfg->rotate;
	char dir[PATH_MAX];
	struct buf why;
	size_t i, j;
	int rc = 0;

	if (r->dry_run) {
		buf_addf(line, "would generate %zu new key(s) in %s/%s",
		    cr->n_types, cr->key_dir, d->name);
		return 0;
	}
	buf_init(&why, 4096);
	if (snprintf(dir, sizeof(dir), "%s/%s", cr->key_dir, d->name) >=
	    (int)sizeof(dir)) {
		buf_adds(&why, "key directory path too long");
		rc = -ENAMETOOLONG;
	}
	/* one directory per domain, private to its owner (keys/README.md) */
	if (rc == 0)
		rc = rot_mkdir(dir, cr->key_dir, 0700, &why);
	for (i = 0; i < cr->n_types && rc == 0; i++)
		rc = rot_make_key(r, d, dir, &cr->types[i], &why);
	if (rc == 0 && (rc = rotate_apply(d, ROTATE_EV_GENERATED, r->now)) == 0)
		rc = rot_save(r, &why);
	if (rc != 0) {
		/* the keys of this step go, so the next run starts afresh */
		for (j = d->n_keys; j > 0 && d->keys[j - 1].role == ROTATE_NEXT;
		     j--)
			rot_delete_files(&d->keys[j - 1]);
		buf_addf(line, "error: cannot generate the next keys: %s",
		    buf_cstr(&why));
		buf_free(&why);
		return rc;
	}
	buf_adds(line, "generated ");
	rot_selectors(d, ROTATE_NEXT, line);
	buf_addf(line, " in %s; next: publish", dir);
	buf_free(&why);
	return 0;
}

/* The records of d's keys with role (their private keys into keys[]):
 * the TXT data in recs (one struct buf each, initialised here). */
static int
rot_records(const struct rot_run *r, const struct rotate_domain *d,
    enum rotate_role role, struct dkim_privkey **keys, struct buf *recs,
    const struct rotate_key **which, size_t *ret_n, struct buf *why)
{
	size_t i, n = 0;
	int rc = 0;

	for (i = 0; i < d->n_keys && rc == 0; i++) {
		if (d->keys[i].role != role || !d->keys[i].owned)
			continue;
		buf_init(&recs[n], ROT_RECORD_MAX);
		keys[n] = NULL;
		which[n] = &d->keys[i];
		rc = rot_record(r, &d->keys[i], &keys[n], &recs[n], why);
		n++;
	}
	*ret_n = n;
	return rc;
}

static void
rot_records_free(struct dkim_privkey **keys, struct buf *recs, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		dkim_privkey_unref(keys[i]);
		buf_free(&recs[i]);
	}
}

/* The zone-file lines for the operator to publish, after the line. */
static void
rot_print_records(const struct rot_run *r, const struct rotate_domain *d,
    const struct rotate_key *const *which, const struct buf *recs, size_t n,
    const char *comment)
{
	struct buf zone;
	size_t i;

	buf_init(&zone, 4 * ROT_RECORD_MAX);
	for (i = 0; i < n; i++)
		dkim_keygen_zone_text(which[i]->selector, d->name,
		    r->cfg->rotate.ttl, recs[i].data, recs[i].len, comment,
		    &zone);
	fputs(buf_cstr(&zone), stdout);
	buf_free(&zone);
}

/* After YXRRSET: our records are there already when every name holds
 * exactly our key (an earlier update went through, its reply was lost). */
static bool
rot_already_there(struct rot_run *r, const struct rotate_domain *d,
    const struct rotate_key *const *which, struct dkim_privkey **keys, size_t n,
    struct buf *why)
{
	struct rot_record rec;
	struct dns_answer *a = NULL;
	enum dkim_keymatch m;
	size_t i;

	for (i = 0; i < n; i++) {
		rot_name(d, which[i], rec.name, sizeof(rec.name));
		if (rot_primary_txt(r, rec.name, &a, why) != 0)
			return false;
		m = DKIM_KEYMATCH_MISMATCH;
		if (a->status == DNS_OK && a->count == 1)
			dkim_keymatch_record((const char *)a->rrs[0].data,
			    a->rrs[0].len, keys[i], &m, NULL);
		a = dns_answer_unref(a);
		if (m != DKIM_KEYMATCH_OK) {
			buf_reset(why);
			buf_addf(why,
			    "%s already has a TXT record that is not "
			    "the new key: remove it, or delete %s and "
			    "its state to start over",
			    rec.name, which[i]->path);
			return false;
		}
	}
	return true;
}

static int
rot_publish(struct rot_run *r, struct rotate_domain *d, struct buf *line)
{
	struct dkim_privkey *keys[BOUND_ROTATE_KEYS];
	struct buf recs[BOUND_ROTATE_KEYS], why;
	const struct rotate_key *which[BOUND_ROTATE_KEYS];
	struct dns_update_change ch[BOUND_ROTATE_KEYS];
	char names[BOUND_ROTATE_KEYS][BOUND_DOMAIN_LEN + 1];
	bool manual = r->cfg->rotate.publish == CONFIG_ROTATE_MANUAL;
	size_t i, n = 0;
	int rc;

	if (r->dry_run) {
		buf_adds(line, manual ? "would print the records of "
		                      : "would send the records of ");
		rot_selectors(d, ROTATE_NEXT, line);
		return 0;
	}
	buf_init(&why, 4096);
	rc = rot_records(r, d, ROTATE_NEXT, keys, recs, which, &n, &why);
	if (rc == 0 && !manual) {
		for (i = 0; i < n; i++) {
			rot_name(d, which[i], names[i], sizeof(names[i]));
			ch[i] =
			    (struct dns_update_change){names[i], recs[i].data,
			        recs[i].len, r->cfg->rotate.ttl, true};
		}
		rc = rot_update(r, ch, n, &why);
		if (rc == -EEXIST &&
		    rot_already_there(r, d, which, keys, n, &why))
			rc = 0;
	}
	if (rc == 0 && (rc = rotate_apply(d, ROTATE_EV_PUBLISHED, r->now)) == 0)
		rc = rot_save(r, &why);
	if (rc != 0) {
		buf_addf(line, "error: cannot publish ");
		rot_selectors(d, ROTATE_NEXT, line);
		buf_addf(line,
		    ": %s; nothing changed, the current keys keep "
		    "signing",
		    buf_cstr(&why));
	} else if (manual) {
		buf_adds(line, "publish the record(s) below in the zone of ");
		buf_addf(line,
		    "%s; the next runs check until every server "
		    "and the resolver have them",
		    d->name);
	} else {
		buf_adds(line, "sent ");
		rot_selectors(d, ROTATE_NEXT, line);
		buf_adds(line, " by DNS UPDATE; next: wait until visible");
	}
	if (rc == 0 && manual)
		rot_print_records(r, d, which, recs, n, "authmilter rotate");
	rot_records_free(keys, recs, n);
	buf_free(&why);
	return rc;
}

/* The records of role, loaded and checked for visibility. */
static enum rot_seen
rot_check_role(struct rot_run *r, const struct rotate_domain *d,
    enum rotate_role role, enum rot_expect expect, bool resolver,
    uint32_t *neg_wait, struct buf *why)
{
	struct dkim_privkey *keys[BOUND_ROTATE_KEYS];
	struct buf recs[BOUND_ROTATE_KEYS];
	const struct rotate_key *which[BOUND_ROTATE_KEYS];
	struct rot_record rr[BOUND_ROTATE_KEYS];
	enum rot_seen seen = ROT_WRONG;
	size_t i, n = 0;

	if (rot_records(r, d, role, keys, recs, which, &n, why) == 0) {
		for (i = 0; i < n; i++) {
			memset(&rr[i], 0, sizeof(rr[i]));
			rot_name(d, which[i], rr[i].name, sizeof(rr[i].name));
			rr[i].expect = expect;
			rr[i].key = keys[i];
		}
		seen = rot_visible(r, rr, n, resolver, neg_wait, why);
	}
	rot_records_free(keys, recs, n);
	return seen;
}

/* Say a visibility verdict that stops the step. */
static int
rot_not_seen(enum rot_seen seen, const char *waiting, struct buf *line,
    const struct buf *why)
{
	if (seen == ROT_WRONG) {
		buf_addf(line,
		    "error: %s; nothing changed, the current keys keep "
		    "signing",
		    buf_cstr(why));
		return -EINVAL;
	}
	buf_addf(line, "%s: %s", waiting, buf_cstr(why));
	return 0;
}

static int
rot_check(struct rot_run *r, struct rotate_domain *d, struct buf *line)
{
	uint32_t neg = 0;
	enum rot_seen seen;
	char when[32];
	struct buf why;
	int rc = 0;

	if (r->dry_run) {
		buf_adds(line, "would check that every server has ");
		rot_selectors(d, ROTATE_NEXT, line);
		return 0;
	}
	buf_init(&why, 4096);
	seen =
	    rot_check_role(r, d, ROTATE_NEXT, ROT_EXPECT_KEY, true, &neg, &why);
	if (seen != ROT_SEEN) {
		rc = rot_not_seen(seen, "waiting until visible", line, &why);
		buf_free(&why);
		return rc;
	}
	d->wait_until = r->now + neg;
	rc = rotate_apply(d, ROTATE_EV_VISIBLE, r->now);
	buf_addf(line, "%s; switching from %s (negative caches: %us)",
	    buf_cstr(&why), rot_time(d->wait_until, when), (unsigned)neg);
	buf_reset(&why);
	if (rc == 0 && (rc = rot_save(r, &why)) != 0) {
		buf_reset(line);
		buf_addf(line, "error: %s", buf_cstr(&why));
	}
	buf_free(&why);
	return rc;
}

/* What the operator's tables sign d's mail with: the old keys of the
 * first switch (rotation never deletes or reads them). */
static void
rot_operator_keys(const struct rot_run *r, struct rotate_domain *d)
{
	struct config_signer sg[BOUND_SIGNING_KEYS];
	struct arena *a = arena_new(4096);
	const char *why = NULL;
	size_t i, j, n = 0;

	if (a == NULL || config_table_signers(r->cfg, "postmaster", d->name, a,
	                     sg, BOUND_SIGNING_KEYS, &n, &why) != 0)
		n = 0;
	for (i = 0; i < n; i++) {
		if (strcasecmp(sg[i].domain, d->name) != 0 ||
		    sg[i].key->key == NULL)
			continue;
		for (j = 0; j < d->n_keys; j++)
			if (strcasecmp(d->keys[j].selector, sg[i].selector) ==
			    0)
				break;
		if (j == d->n_keys)
			rotate_state_add_key(d, ROTATE_OLD,
			    dkim_privkey_type(sg[i].key->key), sg[i].selector,
			    false, 0, NULL);
	}
	arena_free(a);
}

static int
rot_switch(struct rot_run *r, struct rotate_domain *d, struct buf *line)
{
	struct dkim_privkey *k;
	char when[32];
	enum rot_seen seen;
	struct buf why;
	size_t i;
	int rc = 0;

	if (r->dry_run) {
		buf_adds(line, "would switch signing to ");
		rot_selectors(d, ROTATE_NEXT, line);
		return 0;
	}
	buf_init(&why, 4096);
	/* still there? (the check was one run ago) */
	seen =
	    rot_check_role(r, d, ROTATE_NEXT, ROT_EXPECT_KEY, true, NULL, &why);
	if (seen != ROT_SEEN) {
		rc = rot_not_seen(seen, "not switching", line, &why);
		buf_free(&why);
		return rc;
	}
	/* the daemon loads these on SIGHUP: they must load here too */
	for (i = 0; i < d->n_keys && rc == 0; i++) {
		if (d->keys[i].role != ROTATE_NEXT)
			continue;
		buf_reset(&why);
		if ((rc = rot_load(r, &d->keys[i], &k, &why)) == 0)
			dkim_privkey_unref(k);
	}
	if (rc == 0 && rotate_keys_count(d, ROTATE_CURRENT) == 0)
		rot_operator_keys(r, d);
	if (rc == 0 &&
	    (rc = rotate_apply(d, ROTATE_EV_SWITCHED, r->now)) == 0) {
		d->switch_gen = ++r->st.generation;
		rc = rot_save(r, &why);
	}
	if (rc != 0) {
		buf_addf(line,
		    "error: not switching: %s; the current keys keep "
		    "signing",
		    buf_cstr(&why));
		buf_free(&why);
		return rc;
	}
	buf_adds(line, "switched to ");
	rot_selectors(d, ROTATE_CURRENT, line);
	buf_reset(&why);
	if (rot_reload(r, d->switch_gen, &why)) {
		rotate_apply(d, ROTATE_EV_LOADED, r->now);
		buf_reset(&why);
		rc = rot_save(r, &why);
		buf_addf(line, ": the daemon signs with them; old keys ");
		rot_selectors(d, ROTATE_OLD, line);
		buf_addf(line, " stay published until %s",
		    rot_time(d->confirmed + r->pol.overlap, when));
	} else {
		buf_addf(line,
		    " (state generation %" PRIu64 "); waiting for "
		    "the daemon to load it: %s",
		    d->switch_gen, buf_cstr(&why));
	}
	buf_free(&why);
	return rc;
}

static int
rot_confirm(struct rot_run *r, struct rotate_domain *d, struct buf *line)
{
	char when[32];
	struct buf why;
	int rc = 0;

	if (r->dry_run) {
		buf_addf(line,
		    "would wait for the daemon to load generation "
		    "%" PRIu64,
		    d->switch_gen);
		return 0;
	}
	buf_init(&why, 4096);
	if (!rot_reload(r, d->switch_gen, &why)) {
		buf_addf(line, "waiting for the daemon to sign with ");
		rot_selectors(d, ROTATE_CURRENT, line);
		buf_addf(line, ": %s", buf_cstr(&why));
		buf_free(&why);
		return 0;
	}
	rotate_apply(d, ROTATE_EV_LOADED, r->now);
	buf_reset(&why);
	if ((rc = rot_save(r, &why)) != 0)
		buf_addf(line, "error: %s", buf_cstr(&why));
	else {
		buf_adds(line, "the daemon signs with ");
		rot_selectors(d, ROTATE_CURRENT, line);
		buf_addf(line, "; old keys stay published until %s",
		    rot_time(d->confirmed + r->pol.overlap, when));
	}
	buf_free(&why);
	return rc;
}

/* The old keys rotation made: their records change (removed or
 * revoked), their files go when they are done. */
static size_t
rot_owned_old(const struct rotate_domain *d, const struct rotate_key **ret)
{
	size_t i, n = 0;

	for (i = 0; i < d->n_keys; i++)
		if (d->keys[i].role == ROTATE_OLD && d->keys[i].owned)
			ret[n++] = &d->keys[i];
	return n;
}

/* The old keys are done with: out of the state, then their files. */
static int
rot_forget_old(struct rot_run *r, struct rotate_domain *d, enum rotate_event ev,
    struct buf *why)
{
	struct rotate_key gone[BOUND_ROTATE_KEYS];
	size_t i, n = 0;
	int rc;

	/* keep copies of the paths: rotate_apply frees the old keys' */
	for (i = 0; i < d->n_keys; i++) {
		if (d->keys[i].role != ROTATE_OLD)
			continue;
		gone[n] = d->keys[i];
		gone[n].path = d->keys[i].path ? strdup(d->keys[i].path) : NULL;
		n++;
	}
	rc = rotate_apply(d, ev, r->now);
	if (rc == 0)
		rc = rot_save(r, why);
	for (i = 0; i < n; i++) {
		if (rc == 0)
			rot_delete_files(&gone[i]);
		free(gone[i].path);
	}
	return rc;
}

/* Replace or delete the records of the old keys (update), or check the
 * operator did (manual). @return 0 done, 1 waiting (why says what the
 * operator must do; records are printed), -errno failed. */
static int
rot_change_old(struct rot_run *r, struct rotate_domain *d,
    const struct rotate_key *const *old, size_t n, bool revoke, struct buf *why)
{
	struct dns_update_change ch[BOUND_ROTATE_KEYS];
	char names[BOUND_ROTATE_KEYS][BOUND_DOMAIN_LEN + 1];
	struct buf recs[BOUND_ROTATE_KEYS];
	enum rot_seen seen;
	size_t i;
	int rc;

	for (i = 0; i < n; i++) {
		rot_name(d, old[i], names[i], sizeof(names[i]));
		buf_init(&recs[i], ROT_RECORD_MAX);
		if (revoke)
			dkim_keygen_revoked(old[i]->type, &recs[i]);
		ch[i] = (struct dns_update_change){names[i],
		    revoke ? recs[i].data : NULL, revoke ? recs[i].len : 0,
		    r->cfg->rotate.ttl, false};
	}
	if (r->cfg->rotate.publish == CONFIG_ROTATE_UPDATE) {
		rc = rot_update(r, ch, n, why);
	} else {
		seen = rot_check_role(r, d, ROTATE_OLD,
		    revoke ? ROT_EXPECT_REVOKED : ROT_EXPECT_ABSENT, false,
		    NULL, why);
		rc = seen == ROT_SEEN ? 0 : 1;
		if (rc == 1 && revoke)
			rot_print_records(
			    r, d, old, recs, n, "revoked by authmilter rotate");
		else if (rc == 1)
			for (i = 0; i < n; i++)
				printf(
				    "%s. TXT ; remove this record\n", names[i]);
	}
	for (i = 0; i < n; i++)
		buf_free(&recs[i]);
	return rc;
}

/* "; the operator's key A, B ..." for old keys rotation did not make. */
static void
rot_operator_note(const struct rotate_domain *d, struct buf *out)
{
	size_t i, k = 0;

	for (i = 0; i < d->n_keys; i++) {
		if (d->keys[i].role != ROTATE_OLD || d->keys[i].owned)
			continue;
		buf_addf(out, "%s%s", k++ ? ", " : "; the operator's key ",
		    d->keys[i].selector);
	}
	if (k > 0)
		buf_adds(out, " no longer signs: remove its record, its "
		              "KeyTable and SigningTable lines and its file "
		              "when you like (rotation leaves them alone)");
}

static int
rot_retire(struct rot_run *r, struct rotate_domain *d, struct buf *line)
{
	const struct rotate_key *old[BOUND_ROTATE_KEYS];
	size_t i, n = rot_owned_old(d, old);
	bool reveal = r->pol.reveal && n > 0;
	char when[32];
	struct buf why, ops;
	int rc;

	if (r->dry_run) {
		buf_addf(line, "would %s the old records of ",
		    reveal ? "revoke" : "remove");
		rot_selectors(d, ROTATE_OLD, line);
		return 0;
	}
	buf_init(&ops, 1024);
	rot_operator_note(d, &ops);
	buf_init(&why, 4096);
	rc = n > 0 ? rot_change_old(r, d, old, n, reveal, &why) : 0;
	if (rc == 1) {
		buf_addf(line,
		    "overlap over: %s the old record(s) (below) in "
		    "the zone of %s; waiting: %s",
		    reveal ? "replace with the revoked form" : "remove",
		    d->name, buf_cstr(&why));
		rc = 0;
	} else if (rc < 0) {
		buf_addf(line,
		    "error: cannot retire the old records: %s; "
		    "they stay published, the current keys keep "
		    "signing",
		    buf_cstr(&why));
	} else if (reveal) {
		d->wait_until = r->now + r->cfg->rotate.ttl;
		buf_adds(line, "retired ");
		rot_selectors(d, ROTATE_OLD, line);
		rc = rotate_apply(d, ROTATE_EV_REVOKED, r->now);
		buf_reset(&why);
		if (rc == 0)
			rc = rot_save(r, &why);
		buf_addf(line,
		    ": revoked (p=); the private key is revealed "
		    "after %s%s",
		    rot_time(d->wait_until, when), buf_cstr(&ops));
	} else {
		for (i = 0; i < n; i++)
			buf_addf(line, "%s%s", i ? ", " : "retired ",
			    old[i]->selector);
		buf_adds(line, n > 0 ? ": record removed, private key deleted"
		                     : "overlap over, nothing of rotation's to "
		                       "retire");
		buf_adds(line, buf_cstr(&ops));
		buf_reset(&why);
		if ((rc = rot_forget_old(r, d, ROTATE_EV_REMOVED, &why)) != 0)
			buf_addf(line, "; error: %s", buf_cstr(&why));
	}
	buf_free(&why);
	buf_free(&ops);
	return rc;
}

/* The private key of k as published: the base64 of its PKCS#8 DER, the
 * body of the PEM file rotation wrote. */
static int
rot_private_b64(const struct rot_run *r, const struct rotate_key *k,
    struct buf *out, struct buf *why)
{
	static const char begin[] = "-----BEGIN PRIVATE KEY-----";
	char *text = NULL, *p, *end;
	size_t len = 0;
	int rc;

	rc = dkim_key_read_file(
	    k->path, !r->cfg->require_safe_keys, &text, &len, why);
	if (rc != 0)
		return rc;
	p = strstr(text, begin);
	end = p ? strstr(p, "-----END PRIVATE KEY-----") : NULL;
	if (end == NULL) {
		buf_addf(why, "%s: not a PKCS#8 PEM key", k->path);
		rc = -EINVAL;
	} else {
		for (p += sizeof(begin) - 1; p < end; p++)
			if (*p != '\n' && *p != '\r' && *p != ' ')
				buf_addc(out, *p);
		rc = buf_error(out);
	}
	OPENSSL_cleanse(text, len);
	free(text);
	return rc;
}

static int
rot_reveal(struct rot_run *r, struct rotate_domain *d, struct buf *line)
{
	const struct rotate_key *old[BOUND_ROTATE_KEYS];
	struct dns_update_change ch[BOUND_ROTATE_KEYS];
	struct rot_record rr[BOUND_ROTATE_KEYS];
	struct buf recs[BOUND_ROTATE_KEYS], why;
	size_t i, n = rot_owned_old(d, old);
	enum rot_seen seen;
	int rc = 0;

	if (r->dry_run) {
		buf_adds(line, "would reveal the private keys of ");
		rot_selectors(d, ROTATE_OLD, line);
		return 0;
	}
	buf_init(&why, 4096);
	/* revealing while a cache still holds the valid record would let
	 * anyone sign mail that verifies: the revocation first, everywhere */
	seen = rot_check_role(
	    r, d, ROTATE_OLD, ROT_EXPECT_REVOKED, true, NULL, &why);
	if (seen != ROT_SEEN) {
		buf_addf(line, "waiting until the revocation is visible: %s",
		    buf_cstr(&why));
		buf_free(&why);
		return 0;
	}
	for (i = 0; i < n; i++) {
		memset(&rr[i], 0, sizeof(rr[i]));
		rot_name(d, old[i], rr[i].name, sizeof(rr[i].name));
		buf_init(&recs[i], ROT_RECORD_MAX);
		dkim_keygen_revoked(old[i]->type, &recs[i]);
		/* an unknown tag: verifiers ignore it (RFC 6376 section
		 * 3.6.1); the key stays revoked */
		buf_adds(&recs[i], "; privkey=");
		if (rc == 0)
			rc = rot_private_b64(r, old[i], &recs[i], &why);
		rr[i].expect = ROT_EXPECT_EXACT;
		rr[i].data = recs[i].data;
		rr[i].len = recs[i].len;
		ch[i] = (struct dns_update_change){rr[i].name, recs[i].data,
		    recs[i].len, r->cfg->rotate.ttl, false};
	}
	if (rc == 0 && r->cfg->rotate.publish == CONFIG_ROTATE_UPDATE)
		rc = rot_update(r, ch, n, &why);
	else if (rc == 0) {
		seen = rot_visible(r, rr, n, false, NULL, &why);
		if (seen != ROT_SEEN) {
			rot_print_records(r, d, old, recs, n,
			    "revealed by authmilter rotate");
			buf_addf(line,
			    "publish the revealed record(s) below in "
			    "the zone of %s; waiting: %s",
			    d->name, buf_cstr(&why));
			rc = 1;
		}
	}
	if (rc < 0)
		buf_addf(line, "error: cannot reveal the old keys: %s",
		    buf_cstr(&why));
	if (rc == 0) {
		buf_adds(line, "revealed ");
		rot_selectors(d, ROTATE_OLD, line);
		buf_reset(&why);
		rc = rot_forget_old(r, d, ROTATE_EV_REVEALED, &why);
		buf_adds(line, ": private key published in its record "
		               "(privkey=) and deleted here");
		if (rc != 0)
			buf_addf(line, "; error: %s", buf_cstr(&why));
	}
	for (i = 0; i < n; i++)
		buf_free(&recs[i]);
	buf_free(&why);
	return rc > 0 ? 0 : rc;
}

/* ---- one domain ---- */

static void
rot_wait_line(const struct rot_run *r, const struct rotate_domain *d,
    int64_t until, struct buf *line)
{
	char when[32], left[32];

	switch (d->phase) {
	case ROTATE_IDLE:
		buf_adds(line, "current ");
		rot_selectors(d, ROTATE_CURRENT, line);
		buf_adds(line, "; next rotation");
		break;
	case ROTATE_VISIBLE:
		buf_adds(line, "waiting for negative caches; switching to ");
		rot_selectors(d, ROTATE_NEXT, line);
		break;
	case ROTATE_SWITCHED:
		buf_adds(line, "signing with ");
		rot_selectors(d, ROTATE_CURRENT, line);
		buf_adds(line, "; old ");
		rot_selectors(d, ROTATE_OLD, line);
		buf_adds(
		    line, " stay published (RotateOverlap); retiring them");
		break;
	default:
		buf_adds(line, "waiting; revealing ");
		rot_selectors(d, ROTATE_OLD, line);
		break;
	}
	buf_addf(line, " at %s (in %s)", rot_time(until, when),
	    rot_span(until - r->now, left));
}

/* One step for d; the line says what happened. @return 0, or -errno
 * when the step failed. */
static int
rot_step(struct rot_run *r, struct rotate_domain *d, struct buf *line)
{
	int64_t until = 0;

	switch (rotate_plan(d, &r->pol, r->now, &until)) {
	case ROTATE_ACT_WAIT:
		rot_wait_line(r, d, until, line);
		return 0;
	case ROTATE_ACT_GENERATE:
		return rot_generate(r, d, line);
	case ROTATE_ACT_PUBLISH:
		return rot_publish(r, d, line);
	case ROTATE_ACT_CHECK:
		return rot_check(r, d, line);
	case ROTATE_ACT_SWITCH:
		return rot_switch(r, d, line);
	case ROTATE_ACT_CONFIRM:
		return rot_confirm(r, d, line);
	case ROTATE_ACT_RETIRE:
		return rot_retire(r, d, line);
	case ROTATE_ACT_REVEAL:
		return rot_reveal(r, d, line);
	}
	return -EINVAL;
}

static const char *const rot_action_words[] = {
    [ROTATE_ACT_WAIT] = "wait",
    [ROTATE_ACT_GENERATE] = "generate the next keys",
    [ROTATE_ACT_PUBLISH] = "publish the next keys' records",
    [ROTATE_ACT_CHECK] = "check the next records are visible",
    [ROTATE_ACT_SWITCH] = "switch signing to the next keys",
    [ROTATE_ACT_CONFIRM] = "confirm the daemon signs with the new keys",
    [ROTATE_ACT_RETIRE] = "retire the old records",
    [ROTATE_ACT_REVEAL] = "reveal the old private keys",
};

/* --status: one line per domain, nothing changed, no DNS asked. */
static void
rot_status_line(
    const struct rot_run *r, const struct rotate_domain *d, uint64_t acked)
{
	char t1[32], t2[32];
	int64_t until = 0;
	enum rotate_action a = rotate_plan(d, &r->pol, r->now, &until);
	struct buf line;

	buf_init(&line, 8192);
	buf_addf(&line, "%s: %s for %s; current ", d->name,
	    rotate_phase_name(d->phase), rot_span(r->now - d->since, t1));
	rot_selectors(d, ROTATE_CURRENT, &line);
	if (d->switched > 0)
		buf_addf(&line, " (switched %s ago, %s)",
		    rot_span(r->now - d->switched, t2),
		    acked >= d->switch_gen ? "the daemon signs with them"
		                           : "the daemon has not loaded them");
	else
		buf_adds(&line, " (the operator's tables sign)");
	if (rotate_keys_count(d, ROTATE_NEXT) > 0) {
		buf_adds(&line, "; next ");
		rot_selectors(d, ROTATE_NEXT, &line);
	}
	if (rotate_keys_count(d, ROTATE_OLD) > 0) {
		buf_adds(&line, "; old ");
		rot_selectors(d, ROTATE_OLD, &line);
	}
	if (a == ROTATE_ACT_WAIT)
		buf_addf(&line, "; then at %s (in %s): %s", rot_time(until, t1),
		    rot_span(until - r->now, t2),
		    d->phase == ROTATE_IDLE       ? "rotate"
		    : d->phase == ROTATE_VISIBLE  ? "switch"
		    : d->phase == ROTATE_SWITCHED ? "retire the old records"
		                                  : "reveal the old keys");
	else
		buf_addf(&line, "; next run: %s", rot_action_words[a]);
	printf("%s\n", buf_cstr(&line));
	buf_free(&line);
}

/* ---- the run ---- */

static int
rot_setup(struct rot_run *r, struct config *cfg, const struct rot_opts *o)
{
	struct dns_ldns_options lo = {0};
	struct buf ns;
	const char *why = NULL;
	size_t i;

	r->cfg = cfg;
	r->now = o->now_given ? o->now : (int64_t)time(NULL);
	r->dry_run = o->dry_run;
	r->pol.interval = cfg->rotate.interval;
	r->pol.overlap = cfg->rotate.overlap;
	r->pol.reveal = cfg->rotate.reveal;
	r->timeout_ms = cfg->dns_timeout * 1000;
	if (config_rotate_path(cfg, CONFIG_ROTATE_STATE, r->state_path,
	        sizeof(r->state_path)) != 0 ||
	    config_rotate_path(cfg, CONFIG_ROTATE_ACK, r->ack_path,
	        sizeof(r->ack_path)) != 0) {
		fprintf(stderr, "authmilter rotate: RotateStateDir: path too "
		                "long\n");
		return -ENAMETOOLONG;
	}
	buf_init(&ns, 4096);
	for (i = 0; i < cfg->n_nameservers && i < ROT_RESOLVERS; i++) {
		snprintf(r->resolvers[i].addr, sizeof(r->resolvers[i].addr),
		    "%s", cfg->nameservers[i].addr);
		r->resolvers[i].port = cfg->nameservers[i].port;
		buf_addf(&ns, "%s%s@%u", i ? " " : "", cfg->nameservers[i].addr,
		    cfg->nameservers[i].port);
	}
	r->res.servers = r->resolvers;
	r->res.n_servers = i;
	r->res.timeout_ms = r->timeout_ms;
	lo.nameservers = i > 0 ? buf_cstr(&ns) : NULL;
	lo.timeout_ms = r->timeout_ms;
	if (dns_ldns_new(&lo, &r->dns, &why) != 0) {
		fprintf(stderr, "authmilter rotate: resolver: %s\n", why);
		buf_free(&ns);
		return -EINVAL;
	}
	buf_free(&ns);
	return 0;
}

/* Lock RotateStateDir/lock (made with the directory if missing): one run
 * at a time. @return the descriptor, or -errno (reported). */
static int
rot_lock(const struct config *cfg)
{
	char path[PATH_MAX];
	struct buf why;
	uid_t uid;
	gid_t gid;
	int fd;

	buf_init(&why, 4096);
	if (rot_mkdir(cfg->rotate.state_dir, cfg->rotate.state_dir, 0750,
	        &why) != 0 ||
	    config_rotate_path(cfg, CONFIG_ROTATE_LOCK, path, sizeof(path)) !=
	        0) {
		fprintf(stderr, "authmilter rotate: RotateStateDir: %s\n",
		    why.len ? buf_cstr(&why) : "path too long");
		buf_free(&why);
		return -EINVAL;
	}
	buf_free(&why);
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0640);
	/* made by root, the lock is still the timer's user's to open */
	rot_owner(cfg->rotate.state_dir, &uid, &gid);
	if (fd >= 0 && (uid != (uid_t)-1 || gid != (gid_t)-1) &&
	    fchown(fd, uid, gid) != 0) {
		fprintf(stderr, "authmilter rotate: %s: %s\n", path,
		    strerror(errno));
		close(fd);
		return -EPERM;
	}
	if (fd < 0 || flock(fd, LOCK_EX | LOCK_NB) != 0) {
		fprintf(stderr, "authmilter rotate: %s: %s\n", path,
		    fd >= 0 && errno == EWOULDBLOCK
		        ? "another authmilter rotate is running"
		        : strerror(errno));
		if (fd >= 0)
			close(fd);
		return -EBUSY;
	}
	return fd;
}

/* The state as the file has it. @return 0, or -errno (reported). */
static int
rot_reload_state(struct rot_run *r)
{
	struct buf why;
	int rc;

	rotate_state_free(&r->st);
	buf_init(&why, 4096);
	if ((rc = rotate_state_load(r->state_path, &r->st, &why)) != 0)
		fprintf(stderr, "authmilter rotate: %s\n", buf_cstr(&why));
	buf_free(&why);
	return rc;
}

/* Every rotated domain (or only o->domain): a step, or a status line. */
static int
rot_domains(struct rot_run *r, const struct rot_opts *o)
{
	const struct config_strlist *doms = &r->cfg->rotate.domains;
	struct rotate_domain *d;
	uint64_t acked = 0;
	struct buf line;
	int failed = 0, step;
	size_t i;

	rotate_state_ack_read(r->ack_path, &acked);
	buf_init(&line, 16384);
	for (i = 0; i < doms->n; i++) {
		if (o->domain != NULL && strcasecmp(o->domain, doms->v[i]) != 0)
			continue;
		if ((d = rotate_state_domain(&r->st, doms->v[i], true)) ==
		    NULL) {
			fprintf(stderr, "authmilter rotate: out of memory\n");
			failed++;
			break;
		}
		if (o->status) {
			rot_status_line(r, d, acked);
			continue;
		}
		buf_reset(&line);
		step = rot_step(r, d, &line);
		fprintf(strncmp(buf_cstr(&line), "error:", 6) == 0 ? stderr
		                                                   : stdout,
		    "%s: %s: %s\n", d->name, rotate_phase_name(d->phase),
		    buf_cstr(&line));
		fflush(stdout);
		/* a failed step may have changed d in memory only: back to
		 * what the file says, so the next domain's save cannot write
		 * a half-done step */
		if (step != 0) {
			failed++;
			if (rot_reload_state(r) != 0)
				break;
		}
	}
	buf_free(&line);
	return failed;
}

static int
rot_run_all(struct config *cfg, const struct rot_opts *o)
{
	struct rot_run r;
	struct buf why;
	int lock = -1, failed;
	size_t i;

	memset(&r, 0, sizeof(r));
	if (rot_setup(&r, cfg, o) != 0)
		return CLI_EXIT_USAGE;
	for (i = 0; o->domain != NULL && i < cfg->rotate.domains.n; i++)
		if (strcasecmp(o->domain, cfg->rotate.domains.v[i]) == 0)
			break;
	if (o->domain != NULL && i == cfg->rotate.domains.n) {
		fprintf(stderr,
		    "authmilter rotate: %s is not in RotateDomains\n",
		    o->domain);
		dns_resolver_free(r.dns);
		return CLI_EXIT_USAGE;
	}
	if (!o->status && !o->dry_run && (lock = rot_lock(cfg)) < 0) {
		dns_resolver_free(r.dns);
		return CLI_EXIT_FAIL;
	}
	buf_init(&why, 4096);
	if (rotate_state_load(r.state_path, &r.st, &why) != 0) {
		fprintf(stderr, "authmilter rotate: %s\n", buf_cstr(&why));
		failed = -1;
	} else {
		failed = rot_domains(&r, o);
	}
	buf_free(&why);
	rotate_state_free(&r.st);
	dns_resolver_free(r.dns);
	if (lock >= 0)
		close(lock);
	return failed < 0 ? CLI_EXIT_USAGE
	       : failed   ? CLI_EXIT_FAIL
	                  : CLI_EXIT_OK;
}

int
cli_rotate(int argc, char **argv)
{
	struct rot_opts o = {.config = CONFIG_DEFAULT_PATH};
	struct config *cfg = NULL;
	struct buf errors;
	int r;

	if ((r = rot_parse_args(argc, argv, &o)) != 0)
		return r > 0 ? CLI_EXIT_OK : CLI_EXIT_USAGE;
	buf_init(&errors, 1024 * 1024);
	if (config_load(o.config, &cfg, &errors) != 0) {
		fputs(buf_cstr(&errors), stderr);
		fprintf(stderr,
		    "authmilter rotate: %s: the configuration does "
		    "not load: nothing done\n",
		    o.config);
		buf_free(&errors);
		return CLI_EXIT_USAGE;
	}
	buf_free(&errors);
	if (cfg->rotate.domains.n == 0) {
		printf("rotation is off: %s has no RotateDomains\n", o.config);
		config_unref(cfg);
		return CLI_EXIT_OK;
	}
	r = rot_run_all(cfg, &o);
	config_unref(cfg);
	return r;
}
