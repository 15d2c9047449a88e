/*
 * cli_migrate.c -- `authmilter migrate`: one authmilter.conf from an
 * opendkim.conf (opendkim.conf(5)) and an optional opendmarc.conf
 * (opendmarc.conf(5)) that keeps their behaviour.
 *
 * Both files share authmilter's syntax ("Name value", '#' comments), so
 * each option is a line in, a line (or a note) out: options whose meaning
 * is the same keep their name and value; tables (file:/refile:) are
 * carried as paths, made absolute, since opendkim reads relative paths
 * from its working directory and authmilter from the config's; where an
 * opendkim/opendmarc default differs from authmilter's the old default is
 * written out. Every option that cannot be carried is listed with the
 * reason at the top of the new file and on stderr. The result is then
 * loaded with config_load(), as check-config would, and the Postfix
 * lines for the one milter socket are printed.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "authmilter/buf.h"
#include "authmilter/config.h"
#include "cli.h"

#define MIGRATE_MAX_INCLUDE 4

struct migrate_opt {
	char *name;
	char *value;
	char where[PATH_MAX + 16]; /* "file:line" */
	bool used;
};

struct migrate_file {
	const char *label; /* "opendkim.conf", "opendmarc.conf" */
	struct migrate_opt *v;
	size_t n;
	char *base; /* directory for relative paths */
};

struct migrate {
	struct migrate_file dkim, dmarc;
	struct buf conf;    /* the options written */
	struct buf dropped; /* "where: Name value: reason" lines */
	struct buf notes;   /* changes the postmaster should know */
	const char *spool;  /* --spool: SpoolDir, when something needs one */
};

/* ---- reading opendkim.conf / opendmarc.conf ---- */

static char *
migrate_trim(char *s)
{
	char *e;

	while (*s == ' ' || *s == '\t')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r' ||
	                    e[-1] == '\n'))
		*--e = '\0';
	return s;
}

static int migrate_read(
    struct migrate_file *f, const char *path, unsigned depth);

/* One "Name value" line; Include is followed (opendkim.conf(5)). */
static int
migrate_line(struct migrate_file *f, const char *path, unsigned line, char *s,
    unsigned depth)
{
	struct migrate_opt *o;
	char *hash = strchr(s, '#'), *name, *value;

	if (hash != NULL)
		*hash = '\0';
	name = migrate_trim(s);
	if (*name == '\0')
		return 0;
	value = name + strcspn(name, " \t");
	if (*value != '\0')
		*value++ = '\0';
	value = migrate_trim(value);
	if (strcasecmp(name, "Include") == 0)
		return migrate_read(f, value, depth + 1);
	o = realloc(f->v, (f->n + 1) * sizeof(*o));
	if (o == NULL)
		return -ENOMEM;
	f->v = o;
	o = &f->v[f->n];
	memset(o, 0, sizeof(*o));
	o->name = strdup(name);
	o->value = strdup(value);
	snprintf(o->where, sizeof(o->where), "%s:%u", path, line);
	f->n++;
	return o->name && o->value ? 0 : -ENOMEM;
}

static int
migrate_read(struct migrate_file *f, const char *path, unsigned depth)
{
	char *data, *p, *nl;
	unsigned line = 0;
	size_t len;
	int r = 0;

	if (depth > MIGRATE_MAX_INCLUDE) {
		fprintf(stderr,
		    "authmilter migrate: %s: Include nested too "
		    "deep\n",
		    path);
		return -ELOOP;
	}
	if ((r = cli_read_file(path, &data, &len)) != 0)
		return r;
	for (p = data; r == 0 && p < data + len; p = nl + 1) {
		nl = memchr(p, '\n', (size_t)(data + len - p));
		if (nl == NULL)
			nl = data + len;
		*nl = '\0';
		r = migrate_line(f, path, ++line, p, depth);
	}
	free(data);
	return r;
}

/* The last setting of name in f (the daemons keep the last), or NULL. */
static struct migrate_opt *
migrate_get(struct migrate_file *f, const char *name)
{
	size_t i;

	for (i = f->n; i-- > 0;) {
		if (strcasecmp(f->v[i].name, name) == 0) {
			f->v[i].used = true;
			return &f->v[i];
		}
	}
	return NULL;
}

static bool
migrate_bool(const char *v)
{
	return strcasecmp(v, "yes") == 0 || strcasecmp(v, "true") == 0 ||
	       strcasecmp(v, "on") == 0 || strcmp(v, "1") == 0;
}

/* Whether two values mean the same: equal, or the same boolean. */
static bool
migrate_same(const char *a, const char *b)
{
	static const char *const no[] = {"no", "false", "off", "0"};
	bool a_no = false, b_no = false;
	size_t i;

	if (strcasecmp(a, b) == 0)
		return true;
	for (i = 0; i < 4; i++) {
		a_no |= strcasecmp(a, no[i]) == 0;
		b_no |= strcasecmp(b, no[i]) == 0;
	}
	return (migrate_bool(a) && migrate_bool(b)) || (a_no && b_no);
}

/* ---- writing ---- */

static void
migrate_set(struct migrate *m, const char *name, const char *value,
    const struct migrate_opt *from, const char *why)
{
	buf_addf(&m->conf, "%-19s %s", name, value);
	if (from != NULL || why != NULL)
		buf_addf(&m->conf, "\t# %s%s%s", from ? from->where : "",
		    from && why ? ": " : "", why ? why : "");
	buf_addc(&m->conf, '\n');
}

static void migrate_drop(struct migrate *m, const struct migrate_opt *o,
    const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void
migrate_drop(
    struct migrate *m, const struct migrate_opt *o, const char *fmt, ...)
{
	char why[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	buf_addf(
	    &m->dropped, "%s: %s %s: %s\n", o->where, o->name, o->value, why);
}

static void migrate_note(struct migrate *m, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
migrate_note(struct migrate *m, const char *fmt, ...)
{
	char s[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(s, sizeof(s), fmt, ap);
	va_end(ap);
	buf_addf(&m->notes, "%s\n", s);
}

/* path made absolute against base (returned in out). */
static const char *
migrate_abs(const char *base, const char *path, char *out, size_t cap)
{
	if (path[0] == '/' || base == NULL)
		snprintf(out, cap, "%s", path);
	else
		snprintf(out, cap, "%s/%s", base, path);
	return out;
}

/* ---- the mapping, one group of options at a time ---- */

/* Dataset types of opendkim(8) that are not plain files. */
static bool
migrate_foreign_dataset(const char *v)
{
	static const char *const types[] = {
	    "db:", "dsn:", "ldap:", "ldaps:", "ldapi:", "lua:", "memcache:",
	    "mdb:", "redis:", "repute:", "erlang:", "socket:", NULL};
	size_t i;

	for (i = 0; types[i] != NULL; i++)
		if (strncasecmp(v, types[i], strlen(types[i])) == 0)
			return true;
	return false;
}

/* A dataset naming a file: file:/refile: kept, the path made absolute;
 * a bare path becomes file:PATH. @return false if it is not a file. */
static bool
migrate_file_dataset(
    const struct migrate_file *f, const char *v, char *out, size_t cap)
{
	char path[PATH_MAX];
	const char *prefix = "file:";

	if (strncmp(v, "refile:", 7) == 0) {
		prefix = "refile:";
		v += 7;
	} else if (strncmp(v, "file:", 5) == 0) {
		v += 5;
	} else if (v[0] != '/') {
		return false;
	}
	if (*v == '\0')
		return false;
	snprintf(out, cap, "%s%s", prefix,
	    migrate_abs(f->base, v, path, sizeof(path)));
	return true;
}

/* KeyTable, SigningTable: tables must be files. */
static void
migrate_table(struct migrate *m, const char *name)
{
	struct migrate_opt *o = migrate_get(&m->dkim, name);
	char spec[PATH_MAX + 16];

	if (o == NULL)
		return;
	if (migrate_file_dataset(&m->dkim, o->value, spec, sizeof(spec)))
		migrate_set(m, name, spec, o, NULL);
	else
		migrate_drop(m, o, "%s",
		    migrate_foreign_dataset(o->value)
		        ? "only file: and refile: tables are read: export the "
		          "table to a file"
		        : "not a file: or refile: table");
}

/* InternalHosts, ExternalIgnoreList, Domain: files, or inline lists. */
static void
migrate_list(struct migrate *m, const char *name, const char *as)
{
	struct migrate_opt *o = migrate_get(&m->dkim, name);
	char spec[PATH_MAX + 16];
	const char *v;

	if (o == NULL)
		return;
	v = o->value;
	if (migrate_file_dataset(&m->dkim, v, spec, sizeof(spec)))
		migrate_set(m, as, spec, o, NULL);
	else if (migrate_foreign_dataset(v))
		migrate_drop(m, o, "only files and inline lists are read");
	else
		migrate_set(m, as,
		    strncmp(v, "csl:", 4) == 0 && strcmp(as, "Domain") == 0
		        ? v + 4
		        : v,
		    o, NULL);
}

/* OversignHeaders, SignHeaders: inline lists only. */
static void
migrate_headers(struct migrate *m, const char *name)
{
	struct migrate_opt *o = migrate_get(&m->dkim, name);
	const char *v;

	if (o == NULL)
		return;
	v = strncmp(o->value, "csl:", 4) == 0 ? o->value + 4 : o->value;
	if (strchr(v, ':') != NULL || v[0] == '/' || v[0] == '*')
		migrate_drop(m, o,
		    "only an inline list of header names is "
		    "read: write the names out");
	else
		migrate_set(m, name, v, o, NULL);
}

/* libmilter socket syntax, as far as the daemon will need it. */
static bool
migrate_socket_ok(const char *v)
{
	const char *p;

	if (v[0] == '/' || strncasecmp(v, "local:/", 7) == 0 ||
	    strncasecmp(v, "unix:/", 6) == 0)
		return true;
	if (strncasecmp(v, "inet:", 5) == 0)
		p = v + 5;
	else if (strncasecmp(v, "inet6:", 6) == 0)
		p = v + 6;
	else
		return false;
	return *p >= '0' && *p <= '9' &&
	       p[strspn(p, "0123456789")] == (strchr(p, '@') ? '@' : '\0');
}

/* An option both daemons had: opendkim's wins; a different opendmarc
 * value is reported. */
static struct migrate_opt *
migrate_either(struct migrate *m, const char *name)
{
	struct migrate_opt *k = migrate_get(&m->dkim, name);
	struct migrate_opt *d = migrate_get(&m->dmarc, name);

	if (k != NULL && d != NULL && !migrate_same(k->value, d->value))
		migrate_drop(m, d,
		    "opendkim.conf's %s %s is used (one "
		    "daemon now)",
		    name, k->value);
	return k ? k : d;
}

static void
migrate_daemon(struct migrate *m)
{
	static const char *const same[] = {"UserID", "UMask", "PidFile",
	    "Syslog", "SyslogFacility", "DNSTimeout", NULL};
	struct migrate_opt *o;
	size_t i;

	if ((o = migrate_either(m, "Socket")) != NULL) {
		if (!migrate_socket_ok(o->value)) {
			migrate_drop(m, o,
			    "not a socket authmilter can "
			    "listen on (want local:/path, inet:PORT@HOST or "
			    "inet6:PORT@HOST): the default is used");
		} else {
			migrate_set(m, "Socket", o->value, o, NULL);
		}
	}
	for (i = 0; same[i] != NULL; i++)
		if ((o = migrate_either(m, same[i])) != NULL)
			migrate_set(m, same[i], o->value, o, NULL);
	if (migrate_get(&m->dkim, "Socket") && migrate_get(&m->dmarc, "Socket"))
		migrate_note(m, "the two milter sockets become one, "
		                "opendkim's: point Postfix at it alone");
}

static void
migrate_signing(struct migrate *m)
{
	static const char *const same[] = {"Mode", "Selector", "SubDomains",
	    "MultipleSignatures", "SignatureAlgorithm", NULL};
	struct migrate_opt *o;
	char path[PATH_MAX];
	size_t i;

	migrate_table(m, "KeyTable");
	migrate_table(m, "SigningTable");
	migrate_list(m, "Domain", "Domain");
	if ((o = migrate_get(&m->dkim, "KeyFile")) != NULL)
		migrate_set(m, "KeyFile",
		    migrate_abs(m->dkim.base, o->value, path, sizeof(path)), o,
		    NULL);
	for (i = 0; same[i] != NULL; i++)
		if ((o = migrate_get(&m->dkim, same[i])) != NULL)
			migrate_set(m, same[i], o->value, o, NULL);
	/* opendkim.conf(5): Canonicalization defaults to simple (both) */
	if ((o = migrate_get(&m->dkim, "Canonicalization")) != NULL)
		migrate_set(m, "Canonicalization", o->value, o, NULL);
	else
		migrate_set(m, "Canonicalization", "simple/simple", NULL,
		    "opendkim's default");
	migrate_headers(m, "SignHeaders");
	migrate_headers(m, "OversignHeaders");
	if (migrate_get(&m->dkim, "SignHeaders") == NULL)
		migrate_note(m,
		    "no SignHeaders: the default list (RFC 6376 "
		    "section 5.4.1) signs more fields than opendkim's");
	if (migrate_get(&m->dkim, "KeyTable") != NULL)
		migrate_note(m, "relative key file names in the KeyTable are "
		                "now read from the KeyTable's directory");
	migrate_note(m, "From is always oversigned (RFC 6376 section 8.15)");
}

/* On-DNSError/On-InternalError; opendkim's default is tempfail. */
static void
migrate_action(
    struct migrate *m, const char *name, const char *as, bool reject_ok)
{
	struct migrate_opt *o = migrate_get(&m->dkim, name);
	const char *v = o ? o->value : "tempfail";

	if (strcasecmp(v, "accept") == 0 || strcasecmp(v, "tempfail") == 0 ||
	    (reject_ok && strcasecmp(v, "reject") == 0))
		migrate_set(m, as, v, o,
		    o ? NULL
		      : "opendkim's default "
		        "(authmilter's: accept)");
	else
		migrate_drop(m, o,
		    "authmilter can accept%s or tempfail "
		    "here: its default, accept, applies",
		    reject_ok ? ", reject" : "");
}

static void
migrate_verifying(struct migrate *m)
{
	static const char *const same[] = {
	    "MinimumKeyBits", "RequireSafeKeys", "Nameservers", NULL};
	struct migrate_opt *o;
	size_t i;

	migrate_list(m, "InternalHosts", "InternalHosts");
	migrate_list(m, "ExternalIgnoreList", "ExternalIgnoreList");
	for (i = 0; same[i] != NULL; i++)
		if ((o = migrate_get(&m->dkim, same[i])) != NULL)
			migrate_set(m, same[i], o->value, o, NULL);
	if ((o = migrate_get(&m->dkim, "MaximumSignaturesToVerify")) != NULL)
		migrate_set(m, "MaxSignatures", o->value, o, NULL);
	if ((o = migrate_either(m, "AuthservID")) != NULL) {
		/* "HOSTNAME" is the host name: authmilter's default */
		if (strcmp(o->value, "HOSTNAME") == 0)
			migrate_note(m, "AuthservID HOSTNAME: authmilter uses "
			                "the host name by default");
		else
			migrate_set(m, "AuthservID", o->value, o, NULL);
	}
	migrate_action(m, "On-DNSError", "OnDNSError", false);
	migrate_action(m, "On-InternalError", "OnInternalError", true);
}

/* migrate_address -- the bare address of an opendmarc From value
 * ("Name <a@b>" or "a@b") into out. @return false when there is none. */
static bool
migrate_address(const char *v, char *out, size_t size)
{
	const char *lt = strrchr(v, '<'), *gt;
	size_t n;

	if (lt != NULL && (gt = strchr(lt, '>')) != NULL) {
		v = lt + 1;
		n = (size_t)(gt - v);
	} else
		n = strlen(v);
	if (n == 0 || n >= size || memchr(v, '@', n) == NULL ||
	    strcspn(v, " \t\"<>") < n)
		return false;
	memcpy(out, v, n);
	out[n] = '\0';
	return true;
}

/* opendmarc.conf(5) FailureReports*, ReportCommand: the same options
 * here (authmilter.conf(5)); the milter writes failure records to
 * SpoolDir and `authmilter report --failures` (its timer) sends them. */
static void
migrate_failure(struct migrate *m)
{
	struct migrate_opt *o, *on = migrate_get(&m->dmarc, "FailureReports");
	char addr[512];

	if ((o = migrate_get(&m->dmarc, "ReportCommand")) != NULL)
		migrate_set(m, "ReportCommand", o->value, o, NULL);
	if (on == NULL || !migrate_bool(on->value)) {
		if (on != NULL)
			migrate_set(m, "FailureReports", "no", on, NULL);
		return;
	}
	if (m->spool == NULL) {
		migrate_drop(m, on,
		    "failure records need a spool: run "
		    "migrate with --spool DIR (the package's is "
		    "/var/lib/authmilter) to keep failure reports");
		return;
	}
	o = migrate_get(&m->dmarc, "FailureReportsSentBy");
	if (o == NULL || !migrate_address(o->value, addr, sizeof(addr))) {
		migrate_drop(m, on,
		    "failure reports need a From address of "
		    "ours: set FailureReportsSentBy (opendmarc used "
		    "user@host)");
		if (o != NULL)
			migrate_drop(m, o, "not an address");
		return;
	}
	migrate_set(m, "SpoolDir", m->spool, NULL, "--spool");
	migrate_set(m, "FailureReports", "yes", on, NULL);
	migrate_set(m, "FailureReportsSentBy", addr, o, "the address only");
	if ((o = migrate_get(&m->dmarc, "FailureReportsOnNone")) != NULL)
		migrate_set(m, "FailureReportsOnNone",
		    migrate_bool(o->value) ? "yes" : "no", o, NULL);
	if ((o = migrate_get(&m->dmarc, "FailureReportsBcc")) != NULL)
		migrate_set(m, "FailureReportsBcc", o->value, o, NULL);
	migrate_note(m,
	    "FailureReports: the local parts of addresses "
	    "are redacted (FailureReportsRedact yes), bodies are left out, "
	    "and reports are rate-limited (authmilter.conf(5))");
}

static void
migrate_dmarc(struct migrate *m, bool have)
{
	struct migrate_opt *o;
	char path[PATH_MAX];

	/* opendmarc.conf(5): RejectFailures defaults to false; without
	 * opendmarc nothing was rejected for DMARC either */
	o = migrate_get(&m->dmarc, "RejectFailures");
	migrate_set(m, "RejectFailures",
	    o && migrate_bool(o->value) ? "yes" : "no", o,
	    o      ? NULL
	    : have ? "opendmarc's default"
	           : "no DMARC enforcement before");
	o = migrate_get(&m->dmarc, "HoldQuarantinedMessages");
	migrate_set(m, "Quarantine",
	    o && migrate_bool(o->value) ? "hold" : "header", o,
	    o      ? NULL
	    : have ? "opendmarc's default"
	           : NULL);
	if ((o = migrate_get(&m->dmarc, "PublicSuffixList")) != NULL) {
		migrate_set(m, "OrgDomain", "psl", o, NULL);
		migrate_set(m, "PublicSuffixList",
		    migrate_abs(m->dmarc.base, o->value, path, sizeof(path)), o,
		    NULL);
	}
	if ((o = migrate_get(&m->dmarc, "RequiredHeaders")) != NULL ||
	    (o = migrate_get(&m->dkim, "RequiredHeaders")) != NULL) {
		migrate_set(m, "RequiredFrom",
		    migrate_bool(o->value) ? "yes" : "no", o, NULL);
		if (migrate_bool(o->value))
			migrate_note(m,
			    "RequiredFrom checks the From field "
			    "only, not every RFC 5322 header count");
	} else {
		/* authmilter rejects network mail without a usable From by
		 * default; opendkim and opendmarc did not */
		migrate_set(m, "RequiredFrom", "no", NULL,
		    have ? "opendmarc's default"
		         : "mail without a From was accepted before");
	}
	if ((o = migrate_get(&m->dmarc, "HistoryFile")) != NULL)
		migrate_drop(m, o,
		    "aggregate reports now come from the spool:"
		    " set SpoolDir and run `authmilter report` (no database)");
	migrate_failure(m);
	if (!have)
		migrate_note(m,
		    "DMARC and SPF are now evaluated and recorded "
		    "in Authentication-Results; nothing is rejected "
		    "(RejectFailures no)");
}

/* Why the options with no authmilter counterpart are left out. */
static const struct {
	const char *name;
	const char *why;
} migrate_reasons[] = {
    {"SyslogSuccess", "authmilter logs one info line per message"},
    {"LogWhy", "LogLevel debug logs the reason of every result"},
    {"LogResults", "LogLevel debug logs the reason of every result"},
    {"TrustAnchorFile", "DNSSEC is validated by the resolver; "
                        "authmilter reads its AD bit"},
    {"ReportAddress", "failure reports are not sent"},
    {"SendReports", "failure reports are not sent"},
    {"CopyFailuresTo", "failure reports are not sent"},
    {"AlwaysAddARHeader", "Authentication-Results is always added"},
    {"SoftwareHeader", "no software header is added"},
    {"AutoRestart", "the service manager restarts the daemon"},
    {"AutoRestartCount", "the service manager restarts the daemon"},
    {"AutoRestartRate", "the service manager restarts the daemon"},
    {"Background", "the service manager runs the daemon"},
    {"PeerList", "no equivalent: mail from these hosts is verified"},
    {"On-Default", "the DMARC policy decides (RejectFailures)"},
    {"On-BadSignature", "the DMARC policy decides (RejectFailures)"},
    {"On-NoSignature", "the DMARC policy decides (RejectFailures)"},
    {"On-KeyNotFound", "the DMARC policy decides (RejectFailures)"},
    {"On-SignatureError", "the DMARC policy decides (RejectFailures)"},
    {"On-Security", "the DMARC policy decides (RejectFailures)"},
    {"Quarantine", "the DMARC policy decides (Quarantine)"},
    {"SPFSelfValidate", "authmilter always evaluates SPF itself"},
    {"SPFIgnoreResults", "authmilter always evaluates SPF itself and "
                         "never reads Received-SPF"},
    {"TrustedAuthservIDs", "no equivalent: authmilter never trusts "
                           "upstream Authentication-Results"},
    {"IgnoreHosts", "mail from InternalHosts is signed, not "
                    "DMARC-evaluated; other hosts are evaluated"},
    {"IgnoreAuthenticatedClients", "authenticated clients are signed "
                                   "for, not DMARC-evaluated"},
    {"IgnoreMailFrom", "no equivalent: every domain is evaluated"},
    {"IgnoreMailTo", "no equivalent: every domain is evaluated"},
    {"DomainWhitelist", "no equivalent: every domain is evaluated"},
    {"DomainWhitelistFile", "no equivalent: every domain is evaluated"},
    {"AllowSHA1Only", "rsa-sha1 is never used (RFC 8301 section 3.1)"},
    {"QueryCache", "authmilter always caches (DNSCacheSize)"},
    {"ChangeRootDirectory", "no chroot: use the service manager's "
                            "sandboxing"},
    {NULL, NULL},
};

static void
migrate_leftovers(struct migrate *m, struct migrate_file *f)
{
	const char *why;
	size_t i, j;

	for (i = 0; i < f->n; i++) {
		if (f->v[i].used)
			continue;
		why = "no equivalent in authmilter";
		for (j = 0; migrate_reasons[j].name != NULL; j++)
			if (strcasecmp(f->v[i].name, migrate_reasons[j].name) ==
			    0)
				why = migrate_reasons[j].why;
		migrate_drop(m, &f->v[i], "%s", why);
	}
}

static void
migrate_map(struct migrate *m, bool have_dmarc)
{
	struct migrate_opt *o;

	/* opendkim.conf(5): relative paths are taken from BaseDirectory */
	if ((o = migrate_get(&m->dkim, "BaseDirectory")) != NULL) {
		free(m->dkim.base);
		m->dkim.base = strdup(o->value);
		migrate_note(m,
		    "paths relative to BaseDirectory %s were made "
		    "absolute",
		    o->value);
	}
	migrate_daemon(m);
	migrate_signing(m);
	migrate_verifying(m);
	migrate_dmarc(m, have_dmarc);
	migrate_leftovers(m, &m->dkim);
	migrate_leftovers(m, &m->dmarc);
}

/* Load the result as check-config does. @return the exit status. */
static int
migrate_check(const char *out, const struct buf *text, struct config **ret_cfg)
{
	struct buf errors;
	int r;

	buf_init(&errors, 1 << 20);
	if (out != NULL)
		r = config_load(out, ret_cfg, &errors);
	else
		r = config_load_mem(
		    "authmilter.conf", text->data, text->len, ret_cfg, &errors);
	if (r != 0) {
		fprintf(stderr,
		    "authmilter migrate: the new configuration "
		    "does not pass check-config:\n%s",
		    buf_cstr(&errors));
		if (r != -EINVAL && errors.len == 0)
			fprintf(stderr, "  %s\n", strerror(-r));
	} else {
		fprintf(stderr, "authmilter migrate: check-config: OK\n");
	}
	buf_free(&errors);
	return r == 0 ? CLI_EXIT_OK : CLI_EXIT_FAIL;
}

/* The milter socket in Postfix's notation (postconf(5), MILTER_README). */
static void
migrate_postfix(const struct config *cfg, FILE *f)
{
	const struct config_socket *s = &cfg->socket;
	char spec[PATH_MAX + 300];

	if (s->type == CONFIG_SOCKET_LOCAL)
		snprintf(spec, sizeof(spec), "unix:%s", s->path);
	else if (s->type == CONFIG_SOCKET_INET6)
		snprintf(spec, sizeof(spec), "inet:[%s]:%u",
		    s->host ? s->host : "::1", s->port);
	else
		snprintf(spec, sizeof(spec), "inet:%s:%u",
		    s->host ? s->host : "127.0.0.1", s->port);
	fprintf(f,
	    "In Postfix's main.cf, replace the opendkim and opendmarc "
	    "milters by:\n"
	    "  smtpd_milters = %s\n"
	    "  non_smtpd_milters = %s\n",
	    spec, spec);
	if (s->type == CONFIG_SOCKET_LOCAL)
		fprintf(f, "(a chrooted smtpd sees unix: paths inside its "
		           "chroot, e.g. /var/spool/postfix)\n");
}

/* ---- the whole run ---- */

/* The new file: the header listing what was left out, then options. */
static void
migrate_text(
    struct migrate *m, struct buf *t, const char *dkim, const char *dmarc)
{
	const char *p, *nl;

	buf_addf(t,
	    "# authmilter.conf written by `authmilter migrate` from\n"
	    "#   %s\n",
	    dkim);
	if (dmarc != NULL)
		buf_addf(t, "#   %s\n", dmarc);
	buf_addf(t, "#\n# Not carried over (%s):\n",
	    m->dropped.len ? "option, and why" : "nothing");
	for (p = buf_cstr(&m->dropped); (nl = strchr(p, '\n')); p = nl + 1)
		buf_addf(t, "#   %.*s\n", (int)(nl - p), p);
	if (m->notes.len > 0) {
		buf_adds(t, "#\n# Changes to know about:\n");
		for (p = buf_cstr(&m->notes); (nl = strchr(p, '\n'));
		     p = nl + 1)
			buf_addf(t, "#   %.*s\n", (int)(nl - p), p);
	}
	buf_addf(t, "\n%s", buf_cstr(&m->conf));
}

static void
migrate_free(struct migrate *m)
{
	struct migrate_file *fs[2] = {&m->dkim, &m->dmarc};
	size_t i, j;

	for (i = 0; i < 2; i++) {
		for (j = 0; j < fs[i]->n; j++) {
			free(fs[i]->v[j].name);
			free(fs[i]->v[j].value);
		}
		free(fs[i]->v);
		free(fs[i]->base);
	}
	buf_free(&m->conf);
	buf_free(&m->dropped);
	buf_free(&m->notes);
}

static void
migrate_usage(FILE *f)
{
	fprintf(f,
	    "usage: authmilter migrate --opendkim FILE [--opendmarc FILE] "
	    "[-o OUT] [--force]\n"
	    "           [--spool DIR]\n"
	    "\n"
	    "Write one authmilter.conf (OUT, default standard output) that "
	    "keeps the\n"
	    "behaviour of an opendkim.conf and an opendmarc.conf, list what "
	    "could not\n"
	    "be carried over (in the file and on stderr), check the result as "
	    "check-config\n"
	    "does, and print the Postfix milter lines to use. --spool DIR is\n"
	    "the SpoolDir written when opendmarc sent failure reports.\n"
	    "\n"
	    "Exit status: 0 written and accepted, 1 written but the check "
	    "found problems,\n"
	    "2 usage or I/O error.\n");
}

static char *
migrate_dir(const char *file)
{
	char abs[PATH_MAX], *slash;

	if (realpath(file, abs) == NULL)
		return strdup(".");
	slash = strrchr(abs, '/');
	if (slash == abs)
		slash[1] = '\0';
	else if (slash != NULL)
		*slash = '\0';
	return strdup(abs);
}

static int
migrate_output(const struct buf *t, const char *out, bool force)
{
	FILE *f = stdout;
	int fd = -1;

	if (out != NULL) {
		fd = open(out,
		    O_WRONLY | O_CREAT | O_CLOEXEC | O_TRUNC |
		        (force ? 0 : O_EXCL),
		    0640);
		if (fd < 0 || (f = fdopen(fd, "w")) == NULL) {
			fprintf(stderr, "authmilter migrate: %s: %s%s\n", out,
			    strerror(errno),
			    errno == EEXIST ? " (--force "
			                      "replaces it)"
			                    : "");
			if (fd >= 0)
				close(fd);
			return -1;
		}
	}
	if (fwrite(t->data, 1, t->len, f) != t->len ||
	    (out != NULL ? fclose(f) : fflush(f)) != 0) {
		fprintf(stderr, "authmilter migrate: %s: %s\n",
		    out ? out : "stdout", strerror(errno));
		return -1;
	}
	return 0;
}

int
cli_migrate(int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"opendkim", required_argument, NULL, 'k'},
	    {"opendmarc", required_argument, NULL, 'm'},
	    {"output", required_argument, NULL, 'o'},
	    {"force", no_argument, NULL, 'f'},
	    {"spool", required_argument, NULL, 's'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	const char *dkim = NULL, *dmarc = NULL, *out = NULL;
	struct migrate m = {
	    .dkim.label = "opendkim.conf", .dmarc.label = "opendmarc.conf"};
	struct config *cfg = NULL;
	struct buf text;
	bool force = false;
	int c, r = CLI_EXIT_USAGE;

	while ((c = getopt_long(argc, argv, "o:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'k':
			dkim = optarg;
			break;
		case 'm':
			dmarc = optarg;
			break;
		case 'o':
			out = optarg;
			break;
		case 's':
			m.spool = optarg;
			break;
		case 'f':
			force = true;
			break;
		case 'h':
			migrate_usage(stdout);
			return CLI_EXIT_OK;
		default:
			migrate_usage(stderr);
			return CLI_EXIT_USAGE;
		}
	}
	if (optind != argc || dkim == NULL) {
		migrate_usage(stderr);
		return CLI_EXIT_USAGE;
	}
	buf_init(&m.conf, 1 << 20);
	buf_init(&m.dropped, 1 << 20);
	buf_init(&m.notes, 1 << 20);
	buf_init(&text, 1 << 20);
	if (migrate_read(&m.dkim, dkim, 0) != 0 ||
	    (dmarc != NULL && migrate_read(&m.dmarc, dmarc, 0) != 0))
		goto out;
	m.dkim.base = migrate_dir(dkim);
	m.dmarc.base = dmarc ? migrate_dir(dmarc) : NULL;
	migrate_map(&m, dmarc != NULL);
	if (buf_error(&m.conf) || buf_error(&m.dropped) ||
	    buf_error(&m.notes)) {
		fprintf(stderr, "authmilter migrate: out of memory\n");
		goto out;
	}
	if (m.dropped.len > 0)
		fprintf(stderr, "authmilter migrate: not carried over:\n%s",
		    buf_cstr(&m.dropped));
	migrate_text(&m, &text, dkim, dmarc);
	if (buf_error(&text) || migrate_output(&text, out, force) != 0)
		goto out;
	r = migrate_check(out, &text, &cfg);
	if (cfg != NULL)
		migrate_postfix(cfg, out == NULL ? stderr : stdout);
out:
	config_unref(cfg);
	buf_free(&text);
	migrate_free(&m);
	return r;
}
