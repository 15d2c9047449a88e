/*
 * config.c -- authmilter.conf into a struct config snapshot: the option
 * table (one small parser per value type), the tables and keys it names,
 * the cross-checks. The lookups the milter makes per message on a loaded
 * snapshot are config_lookup.c.
 *
 * Relative paths are taken relative to the directory of the file that
 * names them (the config file for tables, keys, SpoolDir...; the KeyTable
 * for key files), so a configuration directory can move as a whole.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <netdb.h>
#include <pwd.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <syslog.h>
#include <unistd.h>

#include "authmilter/bounds.h"
#include "authmilter/config.h"
#include "authmilter/config_rotate.h"
#include "authmilter/failure_rate.h"
#include "authmilter/metrics.h"
#include "authmilter/xalloc.h"

struct config_loader;
struct config_option;

/* A value parser: NULL when value is good, else the reason. */
typedef const char *config_parse_fn(
    struct config_loader *l, const struct config_option *o, const char *value);

struct config_word {
	const char *word;
	int value;
};

struct config_option {
	const char *name;
	const char *alias; /* opendkim's spelling, or NULL */
	config_parse_fn *parse;
	size_t offset;                   /* field in struct config */
	long min, max;                   /* numbers */
	const struct config_word *words; /* enums */
};

/* Specs whose loading waits until every line is read. */
enum config_deferred {
	DEFER_KEY_TABLE,
	DEFER_SIGNING_TABLE,
	DEFER_INTERNAL,
	DEFER_EXTERNAL_IGNORE,
	DEFER_TRUSTED_FORWARDERS,
	DEFER_DOMAIN,
	DEFER_ARC_SEAL_HOSTS,
	DEFER_N
};

struct config_loader {
	struct config *cfg;
	const char *file; /* for messages */
	char *dir;        /* for relative paths */
	struct buf *errors;
	int status;
	unsigned line;
	char why[300]; /* formatted reasons */
	char *deferred[DEFER_N];
	unsigned deferred_line[DEFER_N];
	unsigned selector_line; /* where Selector and KeyFile were given, */
	unsigned key_file_line; /* for errors found after reading */
	bool mode_given;
	struct dkim_key_pool pool; /* the previous snapshot's keys and those
	                            * parsed so far */
};

_Static_assert(sizeof(enum config_action) == sizeof(int), "enum size");
_Static_assert(sizeof(enum config_quarantine) == sizeof(int), "enum size");
_Static_assert(sizeof(enum config_orgdomain) == sizeof(int), "enum size");
_Static_assert(sizeof(enum config_body_length) == sizeof(int), "enum size");
_Static_assert(sizeof(enum config_alg) == sizeof(int), "enum size");
_Static_assert(sizeof(enum config_rotate_publish) == sizeof(int), "enum size");

static void config_err(struct config_loader *l, unsigned line,
    const char *option, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void
config_err(struct config_loader *l, unsigned line, const char *option,
    const char *fmt, ...)
{
	va_list ap;

	if (line > 0)
		buf_addf(l->errors, "%s:%u: ", l->file, line);
	else
		buf_addf(l->errors, "%s: ", l->file);
	if (option != NULL)
		buf_addf(l->errors, "%s: ", option);
	va_start(ap, fmt);
	{
		char msg[600];

		vsnprintf(msg, sizeof(msg), fmt, ap);
		buf_adds(l->errors, msg);
	}
	va_end(ap);
	buf_addc(l->errors, '\n');
	l->status = -EINVAL;
}

static const char *config_whyf(struct config_loader *l, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static const char *
config_whyf(struct config_loader *l, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(l->why, sizeof(l->why), fmt, ap);
	va_end(ap);
	return l->why;
}

static void *
config_field(struct config_loader *l, const struct config_option *o)
{
	return (char *)l->cfg + o->offset;
}

/* A path relative to dir unless absolute; caller frees. */
static char *
config_join(const char *dir, const char *path)
{
	size_t n;
	char *p;

	if (path[0] == '/' || dir == NULL)
		return xstrdup(path);
	n = strlen(dir) + strlen(path) + 2;
	p = xmalloc(n);
	snprintf(p, n, "%s/%s", dir, path);
	return p;
}

static char *
config_dirname(const char *file)
{
	const char *slash = strrchr(file, '/');

	if (slash == NULL)
		return xstrdup(".");
	if (slash == file)
		return xstrdup("/");
	return xstrndup(file, (size_t)(slash - file));
}

/* ---- value checks ---- */

/* RFC 1035 section 2.3.1 host names, also '_' (RFC 6376 selectors and
 * real-world names); labels 1..63, whole name up to 255. */
static bool
config_domain_ok(const char *s)
{
	size_t label = 0, len = strlen(s);

	if (len == 0 || len > BOUND_DOMAIN_LEN)
		return false;
	for (; *s != '\0'; s++) {
		if (*s == '.') {
			if (label == 0)
				return false;
			label = 0;
			continue;
		}
		if (!isalnum((unsigned char)*s) && *s != '-' && *s != '_')
			return false;
		if (++label > BOUND_LABEL_LEN)
			return false;
	}
	return label > 0 || len > 1;
}

/* RFC 5322 section 3.6.8: ftext = %d33-57 / %d59-126 */
static bool
config_field_name_ok(const char *s)
{
	if (*s == '\0')
		return false;
	for (; *s != '\0'; s++)
		if (*s < 33 || *s > 126 || *s == ':')
			return false;
	return true;
}

/* Split a comma list into trimmed, non-empty items (xstrdup'd). */
static void
config_split(const char *value, struct config_strlist *out)
{
	const char *p = value, *end, *comma;

	while (*p != '\0') {
		comma = strchr(p, ',');
		end = comma ? comma : p + strlen(p);
		while (p < end && isspace((unsigned char)*p))
			p++;
		while (end > p && isspace((unsigned char)end[-1]))
			end--;
		if (end > p) {
			out->v =
			    xrealloc(out->v, (out->n + 1) * sizeof(char *));
			out->v[out->n++] = xstrndup(p, (size_t)(end - p));
		}
		if (comma == NULL)
			break;
		p = comma + 1;
	}
}

static void
config_strlist_free(struct config_strlist *s)
{
	size_t i;

	for (i = 0; i < s->n; i++)
		free(s->v[i]);
	free(s->v);
	s->v = NULL;
	s->n = 0;
}

static bool
config_strlist_has(const struct config_strlist *s, const char *item)
{
	size_t i;

	for (i = 0; i < s->n; i++)
		if (strcasecmp(s->v[i], item) == 0)
			return true;
	return false;
}

/* ---- parsers, one per value type ---- */

static const char *
config_set_bool(
    struct config_loader *l, const struct config_option *o, const char *v)
{
	static const char *const yes[] = {"yes", "true", "on", "1"};
	static const char *const no[] = {"no", "false", "off", "0"};
	bool *b = config_field(l, o);
	size_t i;

	for (i = 0; i < 4; i++) {
		if (strcasecmp(v, yes[i]) == 0) {
			*b = true;
			return NULL;
		}
		if (strcasecmp(v, no[i]) == 0) {
			*b = false;
			return NULL;
		}
	}
	return config_whyf(l, "\"%s\": want yes or no", v);
}

static const char *
config_parse_number(struct config_loader *l, const struct config_option *o,
    const char *v, int base, long *ret)
{
	char *end;
	long n;

	errno = 0;
	n = strtol(v, &end, base);
	if (!isdigit((unsigned char)v[0]) || *end != '\0')
		return config_whyf(l, "\"%s\": not a number", v);
	if (errno == ERANGE || n < o->min || n > o->max)
		return config_whyf(
		    l, "\"%s\": out of range (%ld to %ld)", v, o->min, o->max);
	*ret = n;
	return NULL;
}

static const char *
config_set_unsigned(
    struct config_loader *l, const struct config_option *o, const char *v)
{
	const char *why;
	long n;

	if ((why = config_parse_number(l, o, v, 10, &n)) == NULL)
		*(unsigned *)config_field(l, o) = (unsigned)n;
	return why;
}

/* An octal mode or mask (UMask, SocketMode) into an int field. */
static const char *
config_set_octal(
    struct config_loader *l, const struct config_option *o, const char *v)
{
	const char *why;
	long n;

	if ((why = config_parse_number(l, o, v, 8, &n)) == NULL)
		*(int *)config_field(l, o) = (int)n;
	return why;
}

static const char *
config_set_enum(
    struct config_loader *l, const struct config_option *o, const char *v)
{
	const struct config_word *w;

	for (w = o->words; w->word != NULL; w++) {
		if (strcasecmp(v, w->word) == 0) {
			*(int *)config_field(l, o) = w->value;
			return NULL;
		}
	}
	config_whyf(l, "\"%s\": want ", v);
	for (w = o->words; w->word != NULL; w++) {
		size_t n = strlen(l->why);

		snprintf(l->why + n, sizeof(l->why) - n, "%s%s",
		    w == o->words ? ""
		    : w[1].word   ? ", "
		                  : " or ",
		    w->word);
	}
	return l->why;
}

static const char *
config_set_string(
    struct config_loader *l, const struct config_option *o, const char *v)
{
	char **s = config_field(l, o);

	free(*s);
	*s = xstrdup(v);
	return NULL;
}

static const char *
config_set_path(
    struct config_loader *l, const struct config_option *o, const char *v)
{
	char **s = config_field(l, o);

	free(*s);
	*s = config_join(l->dir, v);
	return NULL;
}

static const char *
config_set_log_level(
    struct config_loader *l, const struct config_option *o, const char *v)
{
	if (log_level_parse(v, &l->cfg->log_level) != 0)
		return config_whyf(l,
		    "\"%s\": want err, warning, notice, "
		    "info or debug",
		    v);
	return NULL;
}

static const char *
config_set_facility(
    struct config_loader *l, const struct config_option *o, const char *v)
{
	static const struct config_word f[] = {
	    {"mail", LOG_MAIL},
	    {"daemon", LOG_DAEMON},
	    {"user", LOG_USER},
	    {"auth", LOG_AUTH},
	    {"local0", LOG_LOCAL0},
	    {"local1", LOG_LOCAL1},
	    {"local2", LOG_LOCAL2},
	    {"local3", LOG_LOCAL3},
	    {"local4", LOG_LOCAL4},
	    {"local5", LOG_LOCAL5},
	    {"local6", LOG_LOCAL6},
	    {"local7", LOG_LOCAL7},
	    {NULL, 0},
	};
	size_t i;

	for (i = 0; f[i].word != NULL; i++) {
		if (strcasecmp(v, f[i].word) == 0) {
			l->cfg->syslog_facility = f[i].value;
			return NULL;
		}
	}
	return config_whyf(l,
	    "\"%s\": want mail, daemon, user, auth or "
	    "local0..local7",
	    v);
}

static const char *
config_set_mode(
    struct config_loader *l, const struct config_option *o, const char *v)
{
	unsigned mode = 0;
	const char *p;

	for (p = v; *p != '\0'; p++) {
		if (*p == 's' || *p == 'S')
			mode |= CONFIG_MODE_SIGN;
		else if (*p == 'v' || *p == 'V')
			mode |= CONFIG_MODE_VERIFY;
		else
			return config_whyf(l, "\"%s\": want s, v or sv", v);
	}
	l->cfg->mode = mode;
	l->mode_given = true;
	return NULL;
}

static const char *
config_set_canon(
    struct config_loader *l, const struct config_option *o, const char *v)
{
	const char *slash = strchr(v, '/');
	enum canon_alg alg[2] = {CANON_SIMPLE, CANON_SIMPLE};
	const char *part[2] = {v, slash ? slash + 1 : NULL};
	size_t len[2] = {slash ? (size_t)(slash - v) : strlen(v), 0};
	int i;

	if (part[1] != NULL)
		len[1] = strlen(part[1]);
	/* RFC 6376 section 3.5 (c=): a lone algorithm is the header one;
	 * the body is then simple */
	for (i = 0; i < 2 && part[i] != NULL; i++) {
		if (len[i] == 6 && strncasecmp(part[i], "simple", 6) == 0)
			alg[i] = CANON_SIMPLE;
		else if (len[i] == 7 && strncasecmp(part[i], "relaxed", 7) == 0)
			alg[i] = CANON_RELAXED;
		else
			return config_whyf(l,
			    "\"%s\": want simple or relaxed, "
			    "as header/body",
			    v);
	}
	l->cfg->canon_header = alg[0];
	l->cfg->canon_body = alg[1];
	return NULL;
}

static const char *
config_set_headers(
    struct config_loader *l, const struct config_option *o, const char *v)
{
	struct config_strlist *s = config_field(l, o);
	size_t i;

	config_strlist_free(s);
	config_split(v, s);
	for (i = 0; i < s->n; i++)
		if (!config_field_name_ok(s->v[i]))
			return config_whyf(
			    l, "\"%s\": not a header field name", s->v[i]);
	if (s->n == 0)
		return "empty list";
	/* RFC 6376 section 5.4: From MUST be signed (and we oversign it) */
	if (!config_strlist_has(s, "From")) {
		s->v = xrealloc(s->v, (s->n + 1) * sizeof(char *));
		s->v[s->n++] = xstrdup("From");
	}
	return NULL;
}

/* MetricsListen: checked here, opened by the daemon (metrics.h). */
static const char *
config_set_metrics_listen(
    struct config_loader *l, const struct config_option *o, const char *v)
{
	struct metrics_listen ml;
	const char *why = NULL;

	if (metrics_listen_parse(v, &ml, &why) < 0)
		return config_whyf(l, "\"%s\": %s", v, why);
	return config_set_string(l, o, v);
}

/*
 * The lists whose every item is checked: config_set_list splits v, asks
 * why_not of each item (NULL when it is good, else the error, made with
 * config_whyf) and keeps the list only when all are good and there is
 * at least one.
 */
static const char *
config_set_list(struct config_loader *l, const struct config_option *o,
    const char *v, const char *(*why_not)(struct config_loader *, const char *))
{
	struct config_strlist *s = config_field(l, o);
	const char *why;
	size_t i;

	config_strlist_free(s);
	config_split(v, s);
	for (i = 0; i < s->n; i++)
		if ((why = why_not(l, s->v[i])) != NULL) {
			config_strlist_free(s);
			return why;
		}
	return s->n == 0 ? "empty list" : NULL;
}

static const char *
config_domain_why(struct config_loader *l, const char *v)
{
	return config_domain_ok(v)
	           ? NULL
	           : config_whyf(l, "\"%s\": not a domain name", v);
}

/* A domain exactly or, written ".example.net", with every subdomain. */
static const char *
config_domain_pattern_why(struct config_loader *l, const char *v)
{
	/* digits and dots (an IPv4 address) would pass as a name; a d= is
	 * never one */
	if (config_domain_ok(v + (v[0] == '.')) &&
	    strspn(v, "0123456789.") != strlen(v))
		return NULL;
	return config_whyf(
	    l, "\"%s\": not a domain name (or .domain for its subdomains)", v);
}

/* config_email_why -- why v is not a bare address, or NULL. */
static const char *
config_email_why(struct config_loader *l, const char *v)
{
	const char *at = strrchr(v, '@');
	const char *p;

	for (p = v; *p != '\0'; p++)
		if (*p <= ' ' || *p > '~' || *p == '<' || *p == '>')
			break;
	if (*p == '\0' && at != NULL && at != v && config_domain_ok(at + 1))
		return NULL;
	return config_whyf(
	    l, "\"%s\": want a bare address like dmarc-reports@example.com", v);
}

static const char *
config_set_domains(
    struct config_loader *l, const struct config_option *o, const char *v)
{
	return config_set_list(l, o, v, config_domain_why);
}

/* TrustedARCSealers */
static const char *
config_set_domain_patterns(
    struct config_loader *l, const struct config_option *o, const char *v)
{
	return config_set_list(l, o, v, config_domain_pattern_why);
}

static const char *
config_set_email(
    struct config_loader *l, const struct config_option *o, const char *v)
{
	const char *why = config_email_why(l, v);

	return why != NULL ? why : config_set_string(l, o, v);
}

/* A list of bare addresses (FailureReportsBcc). */
static const char *
config_set_emails(
    struct config_loader *l, const struct config_option *o, const char *v)
{
	return config_set_list(l, o, v, config_email_why);
}

/* COUNT/PERIOD (failure_rate.h) into two unsigned: count, seconds. */
static const char *
config_set_rate(
    struct config_loader *l, const struct config_option *o, const char *v)
{
	struct failure_rate_limit r;
	unsigned *f = config_field(l, o);

	if (failure_rate_limit_parse(v, &r) != 0)
		return config_whyf(l,
		    "\"%s\": want COUNT/PERIOD, e.g. "
		    "1/600 or 1/10m (s, m, h, d, w)",
		    v);
	f[0] = r.count;
	f[1] = r.seconds;
	return NULL;
}

/* RFC 8601 section 2.5: authserv-id is a value (token or quoted
 * string); we take tokens, which every host name is. */
static const char *
config_set_authserv_id(
    struct config_loader *l, const struct config_option *o, const char *v)
{
	const char *p;

	for (p = v; *p != '\0'; p++)
		if (*p <= ' ' || *p > '~' || strchr("()<>@,;:\\\"/[]?=", *p))
			return config_whyf(l,
			    "\"%s\": not a token (RFC 8601 "
			    "section 2.5)",
			    v);
	return config_set_string(l, o, v);
}

static const char *
config_set_deferred(
    struct config_loader *l, const struct config_option *o, const char *v)
{
	size_t i = o->offset; /* enum config_deferred */

	free(l->deferred[i]);
	l->deferred[i] = xstrdup(v);
	l->deferred_line[i] = l->line;
	return NULL;
}

/* "port" of a socket or name server (n bytes of decimal digits).
 * @return it (65536 for anything larger than 65535), or -1 when it is
 * empty or not a number. */
static long
config_port(const char *s, size_t n)
{
	long port = 0;
	size_t i;

	if (n == 0)
		return -1;
	for (i = 0; i < n; i++) {
		if (!isdigit((unsigned char)s[i]))
			return -1;
		port = port * 10 + (s[i] - '0');
		if (port > 65535)
			port = 65536;
	}
	return port;
}

static const char *
config_socket_local(struct config_loader *l, const char *v, const char *path)
{
	struct sockaddr_un sun;

	if (path[0] != '/')
		return config_whyf(l,
		    "\"%s\": the socket path must be "
		    "absolute",
		    v);
	if (strlen(path) >= sizeof(sun.sun_path))
		return config_whyf(l,
		    "\"%s\": socket path longer than %zu "
		    "bytes",
		    v, sizeof(sun.sun_path) - 1);
	l->cfg->socket.type = CONFIG_SOCKET_LOCAL;
	l->cfg->socket.path = xstrdup(path);
	return NULL;
}

/* libmilter's socket specs: local:/path, unix:/path, /path,
 * inet:port[@host], inet6:port[@host]. */
static const char *
config_set_socket(
    struct config_loader *l, const struct config_option *o, const char *v)
{
	struct config_socket *s = &l->cfg->socket;
	const char *rest, *at;
	struct in6_addr a6;
	bool six;
	long port;
	size_t n;

	free(s->spec);
	free(s->path);
	free(s->host);
	memset(s, 0, sizeof(*s));
	s->spec = xstrdup(v);
	if (strncasecmp(v, "local:", 6) == 0 || strncasecmp(v, "unix:", 5) == 0)
		return config_socket_local(l, v, strchr(v, ':') + 1);
	if (v[0] == '/')
		return config_socket_local(l, v, v);
	six = strncasecmp(v, "inet6:", 6) == 0;
	if (!six && strncasecmp(v, "inet:", 5) != 0)
		return config_whyf(l,
		    "\"%s\": want local:/path, inet:port@host"
		    " or inet6:port@host",
		    v);
	rest = v + (six ? 6 : 5);
	at = strchr(rest, '@');
	n = at ? (size_t)(at - rest) : strlen(rest);
	port = config_port(rest, n);
	if (port < 0)
		return config_whyf(
		    l, "\"%s\": %s", v, n ? "bad port" : "no port");
	if (port == 0 || port > 65535)
		return config_whyf(l, "\"%s\": port out of range", v);
	s->type = six ? CONFIG_SOCKET_INET6 : CONFIG_SOCKET_INET;
	s->port = (unsigned)port;
	if (at == NULL || strcmp(at + 1, "*") == 0)
		return NULL;
	rest = at + 1;
	if (six && rest[0] == '[' && rest[strlen(rest) - 1] == ']')
		s->host = xstrndup(rest + 1, strlen(rest) - 2);
	else
		s->host = xstrdup(rest);
	if (six && strchr(s->host, ':') != NULL &&
	    inet_pton(AF_INET6, s->host, &a6) != 1)
		return config_whyf(l, "\"%s\": bad IPv6 address", v);
	if (strchr(s->host, ':') == NULL && !config_domain_ok(s->host))
		return config_whyf(l, "\"%s\": bad host", v);
	return NULL;
}

/* A user or group: a name (checked against the system) or a number. */
static const char *
config_check_id(
    struct config_loader *l, const char *v, const char *name, bool group)
{
	char buf[16384];
	struct passwd pw, *pwp = NULL;
	struct group gr, *grp = NULL;
	int r;

	if (name[0] != '\0' && strspn(name, "0123456789") == strlen(name))
		return NULL;
	if (group)
		r = getgrnam_r(name, &gr, buf, sizeof(buf), &grp);
	else
		r = getpwnam_r(name, &pw, buf, sizeof(buf), &pwp);
	if (r != 0 || (group ? grp == NULL : pwp == NULL))
		return config_whyf(l, "\"%s\": no such %s \"%s\"", v,
		    group ? "group" : "user", name);
	return NULL;
}

/* A user (SocketUser) or, with o->min set, a group (SocketGroup,
 * MTAGroup) that exists, by name or number, into a string field. */
static const char *
config_set_account(
    struct config_loader *l, const struct config_option *o, const char *v)
{
	const char *why = config_check_id(l, v, v, o->min != 0);

	return why != NULL ? why : config_set_string(l, o, v);
}

static const char *
config_set_userid(
    struct config_loader *l, const struct config_option *o, const char *v)
{
	const char *colon = strchr(v, ':'), *why;

	free(l->cfg->user);
	free(l->cfg->group);
	l->cfg->group = NULL;
	l->cfg->user = colon ? xstrndup(v, (size_t)(colon - v)) : xstrdup(v);
	if (colon != NULL)
		l->cfg->group = xstrdup(colon + 1);
	if (l->cfg->user[0] == '\0' || (colon && colon[1] == '\0'))
		return config_whyf(l, "\"%s\": want user or user:group", v);
	if ((why = config_check_id(l, v, l->cfg->user, false)) != NULL)
		return why;
	if (l->cfg->group != NULL)
		return config_check_id(l, v, l->cfg->group, true);
	return NULL;
}

/* One server: addr, addr@port, v4:port or [v6]:port (item is changed)
 * into *ns. @return NULL or the reason. */
static const char *
config_server(struct config_loader *l, char *item, struct config_nameserver *ns)
{
	char *sep = strrchr(item, '@'), *addr;
	struct table_ip ip;
	long port = 53;

	if (sep == NULL && item[0] == '[' && strstr(item, "]:"))
		sep = strstr(item, "]:") + 1;
	else if (sep == NULL && strchr(item, ':') == strrchr(item, ':'))
		sep = strchr(item, ':');
	if (sep != NULL) {
		port = config_port(sep + 1, strlen(sep + 1));
		*sep = '\0';
	}
	addr = item;
	if (addr[0] == '[' && addr[strlen(addr) - 1] == ']') {
		addr[strlen(addr) - 1] = '\0';
		addr++;
	}
	if (port <= 0 || port > 65535)
		return config_whyf(l, "\"%s\": bad port", item);
	if (table_ip_parse(addr, &ip) != 0)
		return config_whyf(l, "\"%s\": not an IP address", addr);
	ns->addr = xstrdup(addr);
	ns->port = (unsigned)port;
	return NULL;
}

/* Name servers: a comma list of addr, addr@port, v4:port or [v6]:port. */
static const char *
config_set_nameservers(
    struct config_loader *l, const struct config_option *o, const char *v)
{
	struct config_strlist items = {0};
	struct config_nameserver *ns;
	const char *why = NULL;
	size_t i;

	config_split(v, &items);
	for (i = 0; i < items.n && why == NULL; i++) {
		l->cfg->nameservers = xrealloc(l->cfg->nameservers,
		    (l->cfg->n_nameservers + 1) * sizeof(*ns));
		ns = &l->cfg->nameservers[l->cfg->n_nameservers];
		if ((why = config_server(l, items.v[i], ns)) == NULL)
			l->cfg->n_nameservers++;
	}
	if (items.n == 0)
		why = "empty list";
	config_strlist_free(&items);
	return why;
}

/* ---- key rotation (config_rotate.c holds the rules) ---- */

static const char *
config_set_duration(
    struct config_loader *l, const struct config_option *o, const char *v)
{
	const char *why;
	unsigned n;

	if ((why = config_rotate_duration(v, &n)) != NULL)
		return config_whyf(l, "\"%s\": %s", v, why);
	if (n < (unsigned long)o->min || n > (unsigned long)o->max)
		return config_whyf(l, "\"%s\": out of range (%lds to %lds)", v,
		    o->min, o->max);
	*(unsigned *)config_field(l, o) = n;
	return NULL;
}

static const char *
config_set_rotate_keys(
    struct config_loader *l, const struct config_option *o, const char *v)
{
	struct config_rotate *r = &l->cfg->rotate;
	struct config_strlist items = {0};
	const char *why;

	config_split(v, &items);
	why = config_rotate_types(
	    &items, r->types, &r->n_types, l->why, sizeof(l->why));
	config_strlist_free(&items);
	return why;
}

static const char *
config_set_update_server(
    struct config_loader *l, const struct config_option *o, const char *v)
{
	char *item = xstrdup(v);
	const char *why;

	free(l->cfg->rotate.update_server.addr);
	l->cfg->rotate.update_server.addr = NULL;
	why = config_server(l, item, &l->cfg->rotate.update_server);
	free(item);
	return why;
}

/* ---- the option table ---- */

#define F(field) offsetof(struct config, field)

static const struct config_word config_words_quarantine[] = {
    {"hold", CONFIG_QUARANTINE_HOLD},
    {"header", CONFIG_QUARANTINE_HEADER},
    {"yes", CONFIG_QUARANTINE_HOLD},
    {"no", CONFIG_QUARANTINE_HEADER},
    {NULL, 0},
};
static const struct config_word config_words_dns_error[] = {
    {"accept", CONFIG_ACTION_ACCEPT},
    {"tempfail", CONFIG_ACTION_TEMPFAIL},
    {NULL, 0},
};
static const struct config_word config_words_action[] = {
    {"accept", CONFIG_ACTION_ACCEPT},
    {"tempfail", CONFIG_ACTION_TEMPFAIL},
    {"reject", CONFIG_ACTION_REJECT},
    {NULL, 0},
};
static const struct config_word config_words_orgdomain[] = {
    {"treewalk", CONFIG_ORGDOMAIN_TREEWALK},
    {"psl", CONFIG_ORGDOMAIN_PSL},
    {NULL, 0},
};
static const struct config_word config_words_body_length[] = {
    {"policy", CONFIG_BODY_LENGTH_POLICY},
    {"accept", CONFIG_BODY_LENGTH_ACCEPT},
    {NULL, 0},
};
static const struct config_word config_words_publish[] = {
    {"manual", CONFIG_ROTATE_MANUAL},
    {"update", CONFIG_ROTATE_UPDATE},
    {NULL, 0},
};
static const struct config_word config_words_alg[] = {
    {"rsa-sha256", CONFIG_ALG_RSA_SHA256},
    {"ed25519-sha256", CONFIG_ALG_ED25519_SHA256},
    {NULL, 0},
};

static const struct config_option config_options[] = {
    {"Socket", NULL, config_set_socket, 0, 0, 0, NULL},
    {"UserID", NULL, config_set_userid, 0, 0, 0, NULL},
    {"UMask", NULL, config_set_octal, F(umask), 0, 0777, NULL},
    {"SocketUser", NULL, config_set_account, F(socket_user), 0, 0, NULL},
    {"SocketGroup", NULL, config_set_account, F(socket_group), 1, 0, NULL},
    {"SocketMode", NULL, config_set_octal, F(socket_mode), 0, 0777, NULL},
    {"MTAGroup", NULL, config_set_account, F(mta_group), 1, 0, NULL},
    {"PidFile", NULL, config_set_path, F(pid_file), 0, 0, NULL},
    {"MaxConnections", NULL, config_set_unsigned, F(max_connections), 0,
        1000000, NULL},
    {"MilterTimeout", NULL, config_set_unsigned, F(milter_timeout), 1, 86400,
        NULL},
    {"Syslog", NULL, config_set_bool, F(syslog), 0, 0, NULL},
    {"SyslogFacility", NULL, config_set_facility, 0, 0, 0, NULL},
    {"LogLevel", NULL, config_set_log_level, 0, 0, 0, NULL},
    {"AuthservID", NULL, config_set_authserv_id, F(authserv_id), 0, 0, NULL},
    {"Mode", NULL, config_set_mode, 0, 0, 0, NULL},
    {"KeyTable", NULL, config_set_deferred, DEFER_KEY_TABLE, 0, 0, NULL},
    {"SigningTable", NULL, config_set_deferred, DEFER_SIGNING_TABLE, 0, 0,
        NULL},
    {"MultipleSignatures", NULL, config_set_bool, F(multiple_signatures), 0, 0,
        NULL},
    {"InternalHosts", NULL, config_set_deferred, DEFER_INTERNAL, 0, 0, NULL},
    {"ExternalIgnoreList", NULL, config_set_deferred, DEFER_EXTERNAL_IGNORE, 0,
        0, NULL},
    {"TrustedForwarders", NULL, config_set_deferred, DEFER_TRUSTED_FORWARDERS,
        0, 0, NULL},
    {"Domain", NULL, config_set_deferred, DEFER_DOMAIN, 0, 0, NULL},
    {"SubDomains", NULL, config_set_bool, F(sub_domains), 0, 0, NULL},
    {"Selector", NULL, config_set_string, F(selector), 0, 0, NULL},
    {"KeyFile", NULL, config_set_path, F(key_file), 0, 0, NULL},
    {"Canonicalization", NULL, config_set_canon, 0, 0, 0, NULL},
    {"SignatureAlgorithm", NULL, config_set_enum, F(sign_alg), 0, 0,
        config_words_alg},
    {"SignHeaders", NULL, config_set_headers, F(sign_headers), 0, 0, NULL},
    {"OversignHeaders", NULL, config_set_headers, F(oversign_headers), 0, 0,
        NULL},
    {"MaxSignatures", NULL, config_set_unsigned, F(max_signatures), 1, 64,
        NULL},
    {"MinimumKeyBits", NULL, config_set_unsigned, F(min_key_bits),
        BOUND_RSA_MIN_BITS, BOUND_RSA_MAX_BITS, NULL},
    {"RequireSafeKeys", NULL, config_set_bool, F(require_safe_keys), 0, 0,
        NULL},
    {"BodyLengthPolicy", NULL, config_set_enum, F(body_length), 0, 0,
        config_words_body_length},
    {"RequiredFrom", NULL, config_set_bool, F(required_from), 0, 0, NULL},
    {"Nameservers", NULL, config_set_nameservers, 0, 0, 0, NULL},
    {"DNSTimeout", NULL, config_set_unsigned, F(dns_timeout), 1, 300, NULL},
    {"DNSCacheSize", NULL, config_set_unsigned, F(dns_cache_size), 0, 10000000,
        NULL},
    {"DNSTimeBudget", NULL, config_set_unsigned, F(dns_time_budget), 1, 3600,
        NULL},
    {"RejectFailures", NULL, config_set_bool, F(reject_failures), 0, 0, NULL},
    {"Quarantine", NULL, config_set_enum, F(quarantine), 0, 0,
        config_words_quarantine},
    {"OnDNSError", "On-DNSError", config_set_enum, F(on_dns_error), 0, 0,
        config_words_dns_error},
    {"OnInternalError", "On-InternalError", config_set_enum,
        F(on_internal_error), 0, 0, config_words_action},
    {"SPFRejectFail", NULL, config_set_bool, F(spf_reject_fail), 0, 0, NULL},
    {"OrgDomain", NULL, config_set_enum, F(org_domain), 0, 0,
        config_words_orgdomain},
    {"PublicSuffixList", NULL, config_set_path, F(public_suffix_list), 0, 0,
        NULL},
    {"SpoolDir", NULL, config_set_path, F(spool_dir), 0, 0, NULL},
    {"ReportOrgName", NULL, config_set_string, F(report_org_name), 0, 0, NULL},
    {"ReportEmail", NULL, config_set_email, F(report_email), 0, 0, NULL},
    {"ARCDomain", NULL, config_set_string, F(arc_domain), 0, 0, NULL},
    {"ARCSelector", NULL, config_set_string, F(arc_selector), 0, 0, NULL},
    {"ARCKeyFile", NULL, config_set_path, F(arc_key_file), 0, 0, NULL},
    {"ARCSealInbound", NULL, config_set_bool, F(arc_seal_inbound), 0, 0, NULL},
    {"ARCSealHosts", NULL, config_set_deferred, DEFER_ARC_SEAL_HOSTS, 0, 0,
        NULL},
    {"ARCSealRecipientDomains", NULL, config_set_domains, F(arc_seal_rcpt), 0,
        0, NULL},
    {"TrustedARCSealers", NULL, config_set_domain_patterns,
        F(trusted_arc_sealers), 0, 0, NULL},
    {"NoReportsTo", NULL, config_set_domains, F(no_reports_to), 0, 0, NULL},
    {"FailureReports", NULL, config_set_bool, F(failure_reports), 0, 0, NULL},
    {"FailureReportsOnNone", NULL, config_set_bool, F(failure_reports_on_none),
        0, 0, NULL},
    {"FailureReportsSentBy", NULL, config_set_email, F(failure_reports_sent_by),
        0, 0, NULL},
    {"FailureReportsBcc", NULL, config_set_emails, F(failure_reports_bcc), 0, 0,
        NULL},
    {"FailureReportsRedact", NULL, config_set_bool, F(failure_reports_redact),
        0, 0, NULL},
    {"FailureReportsBodies", NULL, config_set_unsigned,
        F(failure_reports_bodies), 0, BOUND_FAILURE_BODY_BYTES, NULL},
    {"FailureReportsRateDomain", NULL, config_set_rate, F(failure_rate_domain),
        0, 0, NULL},
    {"FailureReportsRateTo", NULL, config_set_rate, F(failure_rate_to), 0, 0,
        NULL},
    {"FailureReportsMaxPerRun", NULL, config_set_unsigned,
        F(failure_reports_max_per_run), 1, 1000000, NULL},
    {"ReportCommand", NULL, config_set_string, F(report_command), 0, 0, NULL},
    {"RotateDomains", NULL, config_set_domains, F(rotate.domains), 0, 0, NULL},
    {"RotateInterval", NULL, config_set_duration, F(rotate.interval), 86400,
        3650L * 86400, NULL},
    {"RotateOverlap", NULL, config_set_duration, F(rotate.overlap), 3600,
        365L * 86400, NULL},
    {"RotateTTL", NULL, config_set_duration, F(rotate.ttl), 60, 86400, NULL},
    {"RotateKeys", NULL, config_set_rotate_keys, 0, 0, 0, NULL},
    {"RotateSelector", NULL, config_set_string, F(rotate.selector), 0, 0, NULL},
    {"RotatePublish", NULL, config_set_enum, F(rotate.publish), 0, 0,
        config_words_publish},
    {"RotateTSIGKey", NULL, config_set_path, F(rotate.tsig_key), 0, 0, NULL},
    {"RotateUpdateServer", NULL, config_set_update_server, 0, 0, 0, NULL},
    {"RotateAuthPort", NULL, config_set_unsigned, F(rotate.auth_port), 1, 65535,
        NULL},
    {"RotateReveal", NULL, config_set_bool, F(rotate.reveal), 0, 0, NULL},
    {"RotateStateDir", NULL, config_set_path, F(rotate.state_dir), 0, 0, NULL},
    {"RotateKeyDir", NULL, config_set_path, F(rotate.key_dir), 0, 0, NULL},
    {"MetricsListen", NULL, config_set_metrics_listen, F(metrics_listen), 0, 0,
        NULL},
    {"MetricsDomains", NULL, config_set_domains, F(metrics_domains), 0, 0,
        NULL},
    {"KeyMaxAge", NULL, config_set_unsigned, F(key_max_age), 1, 36500, NULL},
};

#define CONFIG_N_OPTIONS (sizeof(config_options) / sizeof(config_options[0]))

static const struct config_option *
config_find_option(const char *name)
{
	size_t i;

	for (i = 0; i < CONFIG_N_OPTIONS; i++) {
		const struct config_option *o = &config_options[i];

		if (strcasecmp(name, o->name) == 0 ||
		    (o->alias != NULL && strcasecmp(name, o->alias) == 0))
			return o;
	}
	return NULL;
}

/* ---- reading the lines ---- */

unsigned
config_option_line(const struct config *cfg, const char *name)
{
	const struct config_option *o = config_find_option(name);

	if (o == NULL || cfg->option_lines == NULL)
		return 0;
	return cfg->option_lines[o - config_options];
}

static void
config_read_lines(struct config_loader *l, const char *text, size_t len)
{
	unsigned *seen = l->cfg->option_lines;
	const struct config_option *o;
	struct table_cursor *c = xmalloc(sizeof(*c));
	char *name, *value;
	const char *why;
	int r;

	table_cursor_init(c, text, len);
	while ((r = table_next_line(c, &name, &value, &why)) != 0) {
		l->line = c->line;
		if (r < 0) {
			config_err(l, c->line, NULL, "%s", why);
			continue;
		}
		if ((o = config_find_option(name)) == NULL) {
			config_err(l, c->line, name, "unknown option");
			continue;
		}
		if (value[0] == '\0') {
			config_err(l, c->line, o->name, "missing value");
			continue;
		}
		if (seen[o - config_options] != 0) {
			config_err(l, c->line, o->name,
			    "given twice (first "
			    "on line %u)",
			    seen[o - config_options]);
			continue;
		}
		seen[o - config_options] = c->line;
		if (strcmp(o->name, "Selector") == 0)
			l->selector_line = c->line;
		else if (strcmp(o->name, "KeyFile") == 0)
			l->key_file_line = c->line;
		if ((why = o->parse(l, o, value)) != NULL)
			config_err(l, c->line, o->name, "%s", why);
	}
	free(c);
}

/* A table spec with its file name made relative to the config's dir. */
static char *
config_table_spec(struct config_loader *l, const char *spec)
{
	const char *prefix = "", *path = spec;
	char *joined, *out;
	size_t n;

	if (strncmp(spec, "file:", 5) == 0 ||
	    strncmp(spec, "refile:", 7) == 0) {
		path = strchr(spec, ':') + 1;
		prefix = spec[0] == 'f' ? "file:" : "refile:";
	}
	if (path[0] == '\0' || path[0] == '/' || prefix[0] == '\0')
		return xstrdup(spec);
	joined = config_join(l->dir, path);
	n = strlen(prefix) + strlen(joined) + 1;
	out = xmalloc(n);
	snprintf(out, n, "%s%s", prefix, joined);
	free(joined);
	return out;
}

/* Pass a table's errors on: bad lines as they are ("table:line: ..."),
 * an unreadable file as the option's error ("conf:line: Option: ..."). */
static void
config_relay(struct config_loader *l, enum config_deferred d,
    const char *option, int r, struct buf *err)
{
	const char *p = buf_cstr(err), *nl;

	if (r == 0)
		return;
	l->status = -EINVAL;
	if (r == -EINVAL) {
		buf_adds(l->errors, p);
		return;
	}
	for (; (nl = strchr(p, '\n')) != NULL; p = nl + 1)
		config_err(
		    l, l->deferred_line[d], option, "%.*s", (int)(nl - p), p);
}

static void
config_load_hosts(struct config_loader *l, enum config_deferred d,
    const char *option, const char *fallback, struct table_hosts **ret)
{
	const char *spec = l->deferred[d] ? l->deferred[d] : fallback;
	char where[PATH_MAX + 64], *full;
	struct buf err;

	if (spec == NULL)
		return;
	snprintf(where, sizeof(where), "%s:%u: %s", l->file,
	    l->deferred_line[d], option);
	full = config_table_spec(l, spec);
	buf_init(&err, 64 * 1024);
	config_relay(
	    l, d, option, table_hosts_open(full, where, ret, &err), &err);
	buf_free(&err);
	free(full);
}

static struct table *
config_load_table(
    struct config_loader *l, enum config_deferred d, const char *option)
{
	const char *spec = l->deferred[d];
	struct table *t = NULL;
	struct buf err;
	char *full;

	if (spec == NULL)
		return NULL;
	if (strncmp(spec, "file:", 5) != 0 &&
	    strncmp(spec, "refile:", 7) != 0 && spec[0] != '/') {
		config_err(l, l->deferred_line[d], option,
		    "\"%s\": want "
		    "file:PATH, refile:PATH or an absolute path",
		    spec);
		return NULL;
	}
	full = config_table_spec(l, spec);
	buf_init(&err, 64 * 1024);
	config_relay(l, d, option, table_open(full, &t, &err), &err);
	buf_free(&err);
	free(full);
	return t;
}

/* ---- keys ---- */

/* Load the private key of k from k->path (dkim_key: a regular file, not
 * accessible by group or others when require_safe, PEM RSA or Ed25519)
 * and check its type against want (the KeyTable's fourth field or
 * SignatureAlgorithm). Sets k->key, k->bits and k->alg.
 * @return NULL, or the reason. */
static const char *
config_key_read(struct config_loader *l, struct config_key *k,
    enum config_alg want, bool require_safe)
{
	enum dkim_alg alg;
	struct buf why;
	int r;

	buf_init(&why, sizeof(l->why) - 40);
	if ((r = dkim_key_load_pooled(
	         k->path, !require_safe, &l->pool, &k->key, &why)) != 0) {
		config_whyf(l, "%s%s", buf_cstr(&why),
		    r == -EPERM ? ", or set RequireSafeKeys no" : "");
		buf_free(&why);
		return l->why;
	}
	buf_free(&why);
	alg = dkim_privkey_alg(k->key);
	k->bits = dkim_privkey_bits(k->key);
	k->alg = alg;
	if (want == CONFIG_ALG_RSA_SHA256 && alg != DKIM_ALG_RSA_SHA256)
		return config_whyf(l,
		    "%s: an Ed25519 key cannot sign "
		    "rsa-sha256",
		    k->path);
	if (want == CONFIG_ALG_ED25519_SHA256 && alg != DKIM_ALG_ED25519_SHA256)
		return config_whyf(l,
		    "%s: an RSA key cannot sign "
		    "ed25519-sha256",
		    k->path);
	return NULL;
}

/* Split a KeyTable value "domain:selector:keyfile[:algorithm]" into k.
 * @return NULL, or the reason. */
static const char *
config_key_fields(struct config_loader *l, const char *value, const char *dir,
    struct config_key *k, enum config_alg *want)
{
	char *f[5] = {NULL}, *copy = xstrdup(value), *p = copy;
	const char *why = NULL;
	size_t n = 0;
	int alg;

	while (n < 5 && p != NULL) {
		f[n++] = p;
		if ((p = strchr(p, ':')) != NULL)
			*p++ = '\0';
	}
	if (strstr(value, "-----BEGIN") != NULL)
		why = "inline keys are not supported: put the key in a file";
	else if (n < 3 || n > 4 || f[2][0] == '\0')
		why = "want domain:selector:keyfile[:algorithm]";
	else if (strcmp(f[0], "%") != 0 && !config_domain_ok(f[0]))
		why = config_whyf(l, "\"%s\": not a domain name", f[0]);
	else if (!config_domain_ok(f[1]))
		why = config_whyf(l, "\"%s\": not a selector", f[1]);
	else if (strchr(f[2], '%') != NULL)
		why = "'%' in a key file name is not supported (keys are "
		      "loaded once, at startup)";
	if (why == NULL && n == 4) {
		for (alg = 0; config_words_alg[alg].word != NULL; alg++)
			if (strcasecmp(f[3], config_words_alg[alg].word) == 0)
				break;
		if (config_words_alg[alg].word == NULL)
			why = config_whyf(l,
			    "\"%s\": want rsa-sha256 or "
			    "ed25519-sha256",
			    f[3]);
		else
			*want = config_words_alg[alg].value;
	}
	if (why == NULL) {
		k->domain = xstrdup(f[0]);
		for (p = k->domain; *p != '\0'; p++)
			*p = (char)tolower((unsigned char)*p);
		k->selector = xstrdup(f[1]);
		k->path = config_join(dir, f[2]);
	}
	free(copy);
	return why;
}

static char *
config_where(const char *file, unsigned line)
{
	char buf[PATH_MAX + 32];

	snprintf(buf, sizeof(buf), "%s:%u", file, line);
	return xstrdup(buf);
}

static void
config_load_key_table(struct config_loader *l)
{
	struct config *cfg = l->cfg;
	struct table *kt = cfg->key_table;
	char *dir = config_dirname(kt->path);
	enum config_alg want;
	const char *why;
	size_t i;

	cfg->keys =
	    xcalloc(kt->n_entries ? kt->n_entries : 1, sizeof(*cfg->keys));
	cfg->n_keys = kt->n_entries;
	for (i = 0; i < kt->n_entries; i++) {
		struct config_key *k = &cfg->keys[i];
		const struct table_entry *e = &kt->entries[i];

		k->name = xstrdup(e->key);
		k->where = config_where(kt->path, e->line);
		want = cfg->sign_alg;
		why = config_key_fields(l, e->value, dir, k, &want);
		if (why == NULL)
			why =
			    config_key_read(l, k, want, cfg->require_safe_keys);
		if (why != NULL) {
			buf_addf(l->errors, "%s: %s\n", k->where, why);
			l->status = -EINVAL;
		}
	}
	free(dir);
}

/* Every SigningTable line names a KeyTable key: "name [identity]". */
static void
config_link_signing_table(struct config_loader *l)
{
	struct config *cfg = l->cfg;
	struct table *st = cfg->signing_table;
	const struct table_entry *k;
	size_t i, n;

	cfg->signing_key =
	    xcalloc(st->n_entries ? st->n_entries : 1, sizeof(size_t));
	cfg->signing_identity =
	    xcalloc(st->n_entries ? st->n_entries : 1, sizeof(char *));
	for (i = 0; i < st->n_entries; i++) {
		const struct table_entry *e = &st->entries[i];
		const char *v = e->value, *sp;

		n = strcspn(v, " \t");
		sp = v + n + strspn(v + n, " \t");
		if (n == 0) {
			buf_addf(l->errors, "%s:%u: no KeyTable name\n",
			    st->path, e->line);
			l->status = -EINVAL;
			continue;
		}
		if (*sp != '\0' && sp[strcspn(sp, " \t")] != '\0') {
			buf_addf(l->errors,
			    "%s:%u: want a KeyTable name and "
			    "at most a signer\n",
			    st->path, e->line);
			l->status = -EINVAL;
			continue;
		}
		if (*sp != '\0')
			cfg->signing_identity[i] = xstrdup(sp);
		k = cfg->key_table ? table_lookup(cfg->key_table, v, n) : NULL;
		if (k == NULL) {
			buf_addf(l->errors,
			    "%s:%u: \"%.*s\" is not in the "
			    "KeyTable\n",
			    st->path, e->line, (int)n, v);
			l->status = -EINVAL;
			continue;
		}
		cfg->signing_key[i] = (size_t)(k - cfg->key_table->entries);
	}
}

/* ---- the Domain/Selector/KeyFile shortcut ---- */

static void
config_load_domains(struct config_loader *l)
{
	const char *spec = l->deferred[DEFER_DOMAIN];
	struct config *cfg = l->cfg;
	struct table *t;
	const char *why;
	size_t i;

	if (spec == NULL)
		return;
	if (strncmp(spec, "file:", 5) != 0 && strncmp(spec, "refile:", 7) &&
	    spec[0] != '/') {
		static const struct config_option o = {
		    "Domain", NULL, NULL, F(domains), 0, 0, NULL};

		if ((why = config_set_domains(l, &o, spec)) != NULL)
			config_err(l, l->deferred_line[DEFER_DOMAIN], "Domain",
			    "%s", why);
		return;
	}
	if ((t = config_load_table(l, DEFER_DOMAIN, "Domain")) == NULL)
		return;
	for (i = 0; i < t->n_entries; i++) {
		if (!config_domain_ok(t->entries[i].key)) {
			buf_addf(l->errors,
			    "%s:%u: \"%s\": not a domain "
			    "name\n",
			    t->path, t->entries[i].line, t->entries[i].key);
			l->status = -EINVAL;
			continue;
		}
		cfg->domains.v = xrealloc(
		    cfg->domains.v, (cfg->domains.n + 1) * sizeof(char *));
		cfg->domains.v[cfg->domains.n++] = xstrdup(t->entries[i].key);
	}
	table_free(t);
}

static void
config_load_key_file(struct config_loader *l)
{
	struct config *cfg = l->cfg;
	unsigned line = l->deferred_line[DEFER_DOMAIN];
	struct config_key *k;
	const char *why;

	if (line == 0)
		line = l->selector_line ? l->selector_line : l->key_file_line;
	if (cfg->domains.n == 0 && cfg->selector == NULL &&
	    cfg->key_file == NULL)
		return;
	if (cfg->domains.n == 0 && l->deferred[DEFER_DOMAIN] != NULL)
		return; /* the Domain line had its error */
	if (cfg->domains.n == 0 || cfg->selector == NULL ||
	    cfg->key_file == NULL) {
		config_err(l, line, "Domain",
		    "Domain, Selector and KeyFile "
		    "go together");
		return;
	}
	if (l->deferred[DEFER_SIGNING_TABLE] != NULL) {
		config_err(l, line, "Domain",
		    "use either Domain, Selector "
		    "and KeyFile or SigningTable and KeyTable, not both");
		return;
	}
	if (!config_domain_ok(cfg->selector)) {
		config_err(l, l->selector_line, "Selector",
		    "\"%s\": not a "
		    "selector",
		    cfg->selector);
		return;
	}
	k = cfg->keys = xcalloc(1, sizeof(*cfg->keys));
	cfg->n_keys = 1;
	k->name = xstrdup("KeyFile");
	k->domain = xstrdup("%");
	k->selector = xstrdup(cfg->selector);
	k->path = xstrdup(cfg->key_file);
	k->where = config_where(l->file, l->key_file_line);
	if ((why = config_key_read(
	         l, k, cfg->sign_alg, cfg->require_safe_keys)) != NULL)
		config_err(l, l->key_file_line, "KeyFile", "%s", why);
}

/* ARCDomain, ARCSelector and ARCKeyFile: the sealing key, RSA (RFC 8617
 * section 4.1.3: rsa-sha256 is the one algorithm); the sealing options
 * need it, and it needs one of them. */
static void
config_load_arc(struct config_loader *l)
{
	struct config *cfg = l->cfg;
	unsigned kline = config_option_line(cfg, "ARCKeyFile");
	bool some = cfg->arc_domain != NULL || cfg->arc_selector != NULL ||
	            cfg->arc_key_file != NULL;
	bool seals = cfg->arc_seal_inbound || cfg->arc_seal_rcpt.n > 0 ||
	             l->deferred[DEFER_ARC_SEAL_HOSTS] != NULL;
	struct buf why;
	int r;

	if (!some && seals)
		config_err(l,
		    config_option_line(cfg,
		        cfg->arc_seal_inbound      ? "ARCSealInbound"
		        : cfg->arc_seal_rcpt.n > 0 ? "ARCSealRecipientDomains"
		                                   : "ARCSealHosts"),
		    "ARCKeyFile",
		    "sealing needs ARCDomain, ARCSelector and ARCKeyFile");
	if (!some)
		return;
	if (cfg->arc_domain == NULL || cfg->arc_selector == NULL ||
	    cfg->arc_key_file == NULL) {
		config_err(l, kline, "ARCKeyFile",
		    "ARCDomain, ARCSelector "
		    "and ARCKeyFile go together");
		return;
	}
	if (!config_domain_ok(cfg->arc_domain))
		config_err(l, config_option_line(cfg, "ARCDomain"), "ARCDomain",
		    "\"%s\": not a domain name", cfg->arc_domain);
	if (!config_domain_ok(cfg->arc_selector))
		config_err(l, config_option_line(cfg, "ARCSelector"),
		    "ARCSelector", "\"%s\": not a selector", cfg->arc_selector);
	if (!seals)
		config_err(l, kline, "ARCKeyFile",
		    "seals nothing: set "
		    "ARCSealInbound, ARCSealHosts or ARCSealRecipientDomains");
	buf_init(&why, sizeof(l->why) - 40);
	r = dkim_key_load_pooled(cfg->arc_key_file, !cfg->require_safe_keys,
	    &l->pool, &cfg->arc_key, &why);
	if (r != 0)
		config_err(l, kline, "ARCKeyFile", "%s%s", buf_cstr(&why),
		    r == -EPERM ? ", or set RequireSafeKeys no" : "");
	else if (dkim_privkey_type(cfg->arc_key) != DKIM_KEY_RSA)
		config_err(l, kline, "ARCKeyFile",
		    "%s: not an RSA key (RFC "
		    "8617 seals with rsa-sha256 only)",
		    cfg->arc_key_file);
	buf_free(&why);
}

/* ---- whole-file checks ---- */

static void
config_check(struct config_loader *l)
{
	struct config *cfg = l->cfg;
	unsigned spool = config_option_line(cfg, "SpoolDir");
	struct stat st;

	if (cfg->key_table != NULL && cfg->signing_table == NULL)
		config_err(l, l->deferred_line[DEFER_KEY_TABLE], "KeyTable",
		    "needs a SigningTable");
	if (cfg->signing_table != NULL && cfg->key_table == NULL &&
	    l->deferred[DEFER_KEY_TABLE] == NULL)
		config_err(l, l->deferred_line[DEFER_SIGNING_TABLE],
		    "SigningTable", "needs a KeyTable");
	if (l->mode_given && (cfg->mode & CONFIG_MODE_SIGN) &&
	    l->deferred[DEFER_SIGNING_TABLE] == NULL && cfg->domains.n == 0)
		config_err(l, config_option_line(cfg, "Mode"), "Mode",
		    "signing (s) needs SigningTable and KeyTable, or Domain, "
		    "Selector and KeyFile");
	if (cfg->spool_dir != NULL) {
		if (stat(cfg->spool_dir, &st) != 0)
			config_err(l, spool, "SpoolDir", "%s: %s",
			    cfg->spool_dir, strerror(errno));
		else if (!S_ISDIR(st.st_mode))
			config_err(l, spool, "SpoolDir", "%s: not a directory",
			    cfg->spool_dir);
		else if (access(cfg->spool_dir, W_OK | X_OK) != 0)
			config_err(l, spool, "SpoolDir", "%s: not writable: %s",
			    cfg->spool_dir, strerror(errno));
	}
	if (cfg->failure_reports && cfg->spool_dir == NULL)
		config_err(l, config_option_line(cfg, "FailureReports"),
		    "FailureReports",
		    "needs SpoolDir (the milter writes "
		    "failure records there)");
	if (cfg->failure_reports && cfg->failure_reports_sent_by == NULL &&
	    cfg->report_email == NULL)
		config_err(l, config_option_line(cfg, "FailureReports"),
		    "FailureReports",
		    "needs FailureReportsSentBy or "
		    "ReportEmail (the reports' From address)");
	if (cfg->public_suffix_list != NULL &&
	    access(cfg->public_suffix_list, R_OK) != 0)
		config_err(l, config_option_line(cfg, "PublicSuffixList"),
		    "PublicSuffixList", "%s: %s", cfg->public_suffix_list,
		    strerror(errno));
}

static void
config_defaults(struct config *cfg)
{
	atomic_init(&cfg->refs, 1);
	cfg->socket.type = CONFIG_SOCKET_LOCAL;
	cfg->socket.spec = xstrdup("local:/run/authmilter/authmilter.sock");
	cfg->socket.path = xstrdup("/run/authmilter/authmilter.sock");
	cfg->umask = -1;
	cfg->milter_timeout = 300;
	cfg->socket_mode = 0660;
	cfg->option_lines = xcalloc(CONFIG_N_OPTIONS, sizeof(unsigned));
	cfg->syslog = true;
	cfg->syslog_facility = LOG_MAIL;
	cfg->log_level = LOG_LVL_INFO;
	cfg->mode = CONFIG_MODE_SIGN | CONFIG_MODE_VERIFY;
	cfg->canon_header = CANON_RELAXED;
	cfg->canon_body = CANON_SIMPLE;
	cfg->sign_alg = CONFIG_ALG_DEFAULT;
	cfg->max_signatures = BOUND_DKIM_SIGNATURES;
	cfg->min_key_bits = BOUND_RSA_MIN_BITS;
	cfg->require_safe_keys = true;
	cfg->body_length = CONFIG_BODY_LENGTH_POLICY;
	cfg->dns_timeout = 5;
	cfg->dns_cache_size = 10000;
	cfg->required_from = true;
	cfg->dns_time_budget = CONFIG_DNS_TIME_BUDGET;
	cfg->reject_failures = true;
	cfg->quarantine = CONFIG_QUARANTINE_HOLD;
	cfg->on_dns_error = CONFIG_ACTION_ACCEPT;
	cfg->on_internal_error = CONFIG_ACTION_ACCEPT;
	cfg->org_domain = CONFIG_ORGDOMAIN_TREEWALK;
	cfg->failure_reports_redact = true;
	cfg->failure_rate_domain[0] = 1;   /* 1 per policy domain */
	cfg->failure_rate_domain[1] = 600; /* per 10 minutes */
	cfg->failure_rate_to[0] = 5;       /* 5 per destination */
	cfg->failure_rate_to[1] = 600;
	cfg->failure_reports_max_per_run = 100;
}

char *
config_default_authserv_id(void)
{
	struct addrinfo hints, *res = NULL;
	char host[256];
	char *id;

	if (gethostname(host, sizeof(host)) != 0 || host[0] == '\0')
		snprintf(host, sizeof(host), "localhost");
	host[sizeof(host) - 1] = '\0';
	/* what `hostname --fqdn` says: the canonical name of the host
	 * name, from /etc/hosts or DNS */
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_flags = AI_CANONNAME;
	if (strchr(host, '.') == NULL &&
	    getaddrinfo(host, NULL, &hints, &res) == 0 &&
	    res->ai_canonname != NULL &&
	    strchr(res->ai_canonname, '.') != NULL &&
	    config_domain_ok(res->ai_canonname))
		id = xstrdup(res->ai_canonname);
	else
		id = xstrdup(host);
	if (res != NULL)
		freeaddrinfo(res);
	return id;
}

static void
config_free(struct config *cfg)
{
	size_t i;

	free(cfg->path);
	free(cfg->socket.spec);
	free(cfg->socket.path);
	free(cfg->socket.host);
	free(cfg->user);
	free(cfg->group);
	free(cfg->socket_user);
	free(cfg->socket_group);
	free(cfg->mta_group);
	free(cfg->option_lines);
	free(cfg->pid_file);
	free(cfg->authserv_id);
	table_free(cfg->key_table);
	if (cfg->signing_table != NULL && cfg->signing_identity != NULL)
		for (i = 0; i < cfg->signing_table->n_entries; i++)
			free(cfg->signing_identity[i]);
	free(cfg->signing_identity);
	free(cfg->signing_key);
	table_free(cfg->signing_table);
	table_hosts_free(cfg->internal_hosts);
	table_hosts_free(cfg->external_ignore);
	table_hosts_free(cfg->trusted_forwarders);
	config_strlist_free(&cfg->domains);
	free(cfg->selector);
	free(cfg->key_file);
	config_strlist_free(&cfg->sign_headers);
	config_strlist_free(&cfg->oversign_headers);
	for (i = 0; i < cfg->n_nameservers; i++)
		free(cfg->nameservers[i].addr);
	free(cfg->nameservers);
	free(cfg->public_suffix_list);
	free(cfg->spool_dir);
	free(cfg->report_org_name);
	free(cfg->report_email);
	config_strlist_free(&cfg->no_reports_to);
	free(cfg->metrics_listen);
	config_strlist_free(&cfg->metrics_domains);
	free(cfg->failure_reports_sent_by);
	config_strlist_free(&cfg->failure_reports_bcc);
	free(cfg->report_command);
	free(cfg->arc_domain);
	free(cfg->arc_selector);
	free(cfg->arc_key_file);
	dkim_privkey_unref(cfg->arc_key);
	table_hosts_free(cfg->arc_seal_hosts);
	config_strlist_free(&cfg->arc_seal_rcpt);
	config_strlist_free(&cfg->trusted_arc_sealers);
	config_rotate_free(cfg);
	for (i = 0; i < cfg->n_keys; i++) {
		struct config_key *k = &cfg->keys[i];

		free(k->name);
		free(k->domain);
		free(k->selector);
		free(k->path);
		free(k->where);
		dkim_privkey_unref(k->key);
	}
	free(cfg->keys);
	free(cfg);
}

/* The keys of prev (may be NULL) into l's pool, for the loads to take
 * over; without the memory for it they are parsed again. */
static void
config_pool(struct config_loader *l, const struct config *prev)
{
	struct dkim_privkey **keys;
	size_t i, n = 0;

	if (prev == NULL || (prev->n_keys == 0 && prev->arc_key == NULL))
		return;
	keys = xcalloc(prev->n_keys + 1, sizeof(*keys));
	for (i = 0; i < prev->n_keys; i++)
		if (prev->keys[i].key != NULL)
			keys[n++] = prev->keys[i].key;
	if (prev->arc_key != NULL)
		keys[n++] = prev->arc_key;
	(void)dkim_key_pool_add(&l->pool, keys, n);
	free(keys);
}

static int
config_load_text(const char *name, const char *text, size_t len,
    const struct config *prev, struct config **ret_cfg, struct buf *errors)
{
	struct config_loader l = {0};
	struct config *cfg = xcalloc(1, sizeof(*cfg));
	size_t i;

	config_defaults(cfg);
	cfg->path = xstrdup(name);
	l.cfg = cfg;
	l.file = name;
	l.dir = config_dirname(name);
	l.errors = errors;
	config_pool(&l, prev);
	config_read_lines(&l, text, len);
	if (cfg->authserv_id == NULL)
		cfg->authserv_id = config_default_authserv_id();
	if (cfg->oversign_headers.n == 0) {
		cfg->oversign_headers.v = xcalloc(1, sizeof(char *));
		cfg->oversign_headers.v[cfg->oversign_headers.n++] =
		    xstrdup("From");
	}
	config_load_hosts(&l, DEFER_INTERNAL, "InternalHosts", "127.0.0.1,::1",
	    &cfg->internal_hosts);
	config_load_hosts(&l, DEFER_EXTERNAL_IGNORE, "ExternalIgnoreList", NULL,
	    &cfg->external_ignore);
	config_load_hosts(&l, DEFER_TRUSTED_FORWARDERS, "TrustedForwarders",
	    NULL, &cfg->trusted_forwarders);
	config_load_hosts(&l, DEFER_ARC_SEAL_HOSTS, "ARCSealHosts", NULL,
	    &cfg->arc_seal_hosts);
	cfg->key_table = config_load_table(&l, DEFER_KEY_TABLE, "KeyTable");
	cfg->signing_table =
	    config_load_table(&l, DEFER_SIGNING_TABLE, "SigningTable");
	config_load_domains(&l);
	if (cfg->key_table != NULL)
		config_load_key_table(&l);
	if (cfg->signing_table != NULL)
		config_link_signing_table(&l);
	config_load_key_file(&l);
	config_load_arc(&l);
	if (config_rotate_load(cfg, l.file, &l.pool, l.errors) != 0)
		l.status = -EINVAL;
	config_check(&l);
	cfg->keys_kept = l.pool.kept;
	cfg->keys_loaded = l.pool.parsed;
	for (i = 0; i < DEFER_N; i++)
		free(l.deferred[i]);
	free(l.dir);
	dkim_key_pool_free(&l.pool);
	if (l.status != 0) {
		config_free(cfg);
		return l.status;
	}
	*ret_cfg = cfg;
	return 0;
}

int
config_load_mem(const char *name, const char *text, size_t len,
    struct config **ret_cfg, struct buf *errors)
{
	return config_load_text(name, text, len, NULL, ret_cfg, errors);
}

int
config_reload(const char *path, const struct config *prev,
    struct config **ret_cfg, struct buf *errors)
{
	char *text;
	size_t len;
	int r;

	if ((r = table_slurp(path, &text, &len)) != 0) {
		buf_addf(errors, "%s: %s\n", path, strerror(-r));
		return r;
	}
	r = config_load_text(path, text, len, prev, ret_cfg, errors);
	free(text);
	return r;
}

int
config_load(const char *path, struct config **ret_cfg, struct buf *errors)
{
	return config_reload(path, NULL, ret_cfg, errors);
}

struct config *
config_ref(struct config *cfg)
{
	atomic_fetch_add_explicit(&cfg->refs, 1, memory_order_relaxed);
	return cfg;
}

struct config *
config_unref(struct config *cfg)
{
	if (cfg == NULL)
		return NULL;
	if (atomic_fetch_sub_explicit(&cfg->refs, 1, memory_order_acq_rel) == 1)
		config_free(cfg);
	return NULL;
}

const char *
config_alg_name(enum config_alg alg)
{
	switch (alg) {
	case CONFIG_ALG_RSA_SHA256:
		return "rsa-sha256";
	case CONFIG_ALG_ED25519_SHA256:
		return "ed25519-sha256";
	case CONFIG_ALG_DEFAULT:
		break;
	}
	return "default";
}

int
config_nameservers(const struct config *cfg, struct buf *out)
{
	size_t i, before = out->len;
	int err;

	for (i = 0; i < cfg->n_nameservers; i++)
		buf_addf(out, "%s%s@%u", i > 0 ? " " : "",
		    cfg->nameservers[i].addr, cfg->nameservers[i].port);
	if ((err = buf_error(out)) != 0)
		buf_truncate(out, before);
	return err;
}
