/*
 * session.c -- one connection and its messages: the signing decision,
 * signing, verifying through verdict, the edits and the reply at the end
 * of a message, and the one log line per message. See session.h.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>

#include "authmilter/addr.h"
#include "authmilter/arena.h"
#include "authmilter/authres.h"
#include "authmilter/bounds.h"
#include "authmilter/dkim_key_cache.h"
#include "authmilter/dkim_sign.h"
#include "authmilter/log.h"
#include "authmilter/msg.h"
#include "authmilter/spf.h"
#include "authmilter/spool.h"
#include "authmilter/table.h"
#include "authmilter/verdict.h"
#include "observe.h"
#include "session.h"

/* One arena block: a typical header section fits in the first block,
 * which is kept across messages. */
#define SESSION_ARENA_BLOCK 65536
/* The per-message log line: bounded by the signature limit. */
#define SESSION_LOG_MAX 4096
/* A HELO name or a macro we keep: longer ones are cut (they are only
 * logged and handed to SPF, which checks them as domains). */
#define SESSION_NAME_MAX 1024

enum session_path {
	SESSION_PATH_NONE = 0, /* neither sign nor verify */
	SESSION_PATH_SIGN,
	SESSION_PATH_VERIFY,
};

struct session {
	struct session_conf *conf; /* one reference */
	struct arena *arena;       /* per message, reset */

	/* connection */
	char ip_text[INET6_ADDRSTRLEN]; /* "" when unknown */
	struct table_ip ip;
	bool have_ip;
	char *hostname; /* heap */
	char *helo;     /* heap */
	bool internal;  /* InternalHosts */
	bool local;     /* local submission (non-SMTP) */

	/* message: everything below lives in the arena */
	bool in_message;
	struct timespec start;
	const char *queue_id;
	const char *mail_from;
	const char *auth_authen;
	const char *rcpt_domain;
	const char **rcpts; /* FailureReports: the first recipients */
	size_t n_rcpts;
	uint8_t *body_copy; /* FailureReportsBodies: the first bytes */
	size_t body_len;
	bool body_more;   /* more body came than was kept */
	size_t n_failure; /* failure records written (for the log) */
	struct msg msg;
	enum session_path path;
	const char *why;         /* why signed or not */
	const char *from_domain; /* for the log; NULL when none */
	struct dkim_sign *sign;
	const struct config_signer *signers;
	size_t n_signers;
	struct verdict_session *verdict;
	bool seal_rcpt;                  /* a RCPT domain asks for sealing */
	bool reseal;                     /* sealing with our stored A-R */
	struct arc_seal *seal;           /* the reseal session */
	const struct arc_sealed *sealed; /* the new ARC set, or NULL */
	const char *seal_why;            /* why not sealed, when asked */
	int *forged;                     /* indices of A-R fields naming
	                                  * our authserv-id (1-based) */
	size_t n_forged, cap_forged;
	int n_authres; /* A-R fields seen */
	int error;     /* first -errno of the message */
	const char *error_where;
	uint64_t bytes; /* header and body as received, for the metrics */
	struct session_outcome outcome;
};

/* ---- shared resolver ---- */

/* session_dns_key -- what the shared resolver is made of: Nameservers,
 * DNSTimeout, DNSCacheSize; a reload that changes none keeps it */
static void
session_dns_key(const struct config *cfg, struct buf *b)
{
	(void)config_nameservers(cfg, b); /* the buf's error is sticky */
	buf_addf(b, "|%u|%u", cfg->dns_timeout, cfg->dns_cache_size);
}

int
session_dns_new(const struct config *cfg, const struct dns_metrics *dm,
    struct session_dns **ret, struct buf *errors)
{
	struct dns_ldns_options opt;
	struct dns_resolver *r = NULL;
	struct dkim_key_cache *keys;
	struct session_dns *d;
	const char *why = NULL;
	struct buf key, ns;
	int err;

	/* first: it may exit (or, at a reload, unwind through xalloc_try)
	 * before anything else is held */
	keys = dkim_key_cache_new(BOUND_KEY_CACHE_ENTRIES);
	buf_init(&key, 4096);
	buf_init(&ns, 4096);
	session_dns_key(cfg, &key);
	if ((err = buf_error(&key)) == 0 &&
	    (err = config_nameservers(cfg, &ns)) == 0) {
		memset(&opt, 0, sizeof(opt));
		opt.nameservers = ns.len > 0 ? buf_cstr(&ns) : NULL;
		opt.timeout_ms = cfg->dns_timeout * 1000;
		opt.metrics = dm;
		err = dns_ldns_new(&opt, &r, &why);
	}
	buf_free(&ns);
	if (err < 0) {
		buf_addf(errors, "%s: Nameservers: %s\n", cfg->path,
		    why != NULL ? why : strerror(-err));
		buf_free(&key);
		dkim_key_cache_free(keys);
		return err;
	}
	if (cfg->dns_cache_size > 0) {
		r = dns_cache_new(r, cfg->dns_cache_size);
		dns_cache_set_metrics(r, dm);
	}
	d = calloc(1, sizeof(*d));
	if (d == NULL || r == NULL) {
		free(d);
		dns_resolver_free(r);
		buf_free(&key);
		dkim_key_cache_free(keys);
		return -ENOMEM;
	}
	atomic_init(&d->refs, 1);
	d->resolver = r;
	d->keys = keys;
	d->key = buf_steal(&key, NULL);
	buf_free(&key);
	*ret = d;
	return 0;
}

bool
session_dns_matches(const struct session_dns *d, const struct config *cfg)
{
	struct buf key;
	bool same;

	buf_init(&key, 4096);
	session_dns_key(cfg, &key);
	same = buf_error(&key) == 0 && d->key != NULL &&
	       strcmp(d->key, buf_cstr(&key)) == 0;
	buf_free(&key);
	return same;
}

struct session_dns *
session_dns_ref(struct session_dns *d)
{
	atomic_fetch_add(&d->refs, 1);
	return d;
}

struct session_dns *
session_dns_unref(struct session_dns *d)
{
	if (d == NULL || atomic_fetch_sub(&d->refs, 1) != 1)
		return NULL;
	dns_resolver_free(d->resolver);
	dkim_key_cache_free(d->keys);
	free(d->key);
	free(d);
	return NULL;
}

/* ---- configuration snapshot ---- */

/* A config string list as the const array dkim_sign wants. */
static const char **
session_conf_names(const struct config_strlist *l, size_t *ret_n)
{
	const char **v;
	size_t i;

	*ret_n = 0;
	if (l->n == 0)
		return NULL;
	v = calloc(l->n + 1, sizeof(*v));
	if (v == NULL)
		return NULL;
	for (i = 0; i < l->n; i++)
		v[i] = l->v[i];
	*ret_n = l->n;
	return v;
}

/* TrustedARCSealers into the DMARC options; the ARC sealing options:
 * ARCDomain, ARCSelector, the key, and the header names DKIM signs. */
static int
session_conf_arc(struct session_conf *c, struct buf *errors)
{
	const struct config *cfg = c->cfg;
	size_t n = cfg->trusted_arc_sealers.n;
	const char *bad = NULL;
	int r;

	if (n > 0) {
		c->arc_sealers = calloc(n, sizeof(*c->arc_sealers));
		if (c->arc_sealers == NULL)
			return -ENOMEM;
		if ((r = action_arc_sealers(cfg, c->arc_sealers, &bad)) < 0) {
			buf_addf(errors,
			    "%s: TrustedARCSealers: \"%s\": not "
			    "a domain\n",
			    cfg->path, bad);
			return r;
		}
		c->dmarc.arc_sealers = c->arc_sealers;
		c->dmarc.arc_sealer_count = n;
	}
	memset(&c->arc_seal, 0, sizeof(c->arc_seal));
	c->arc_seal.domain = cfg->arc_domain;
	c->arc_seal.selector = cfg->arc_selector;
	c->arc_seal.key = cfg->arc_key;
	c->arc_seal.headers = c->sign_headers;
	c->arc_seal.n_headers = c->n_sign_headers;
	c->arc_seal.oversign = c->oversign;
	c->arc_seal.n_oversign = c->n_oversign;
	return 0;
}

/* OrgDomain and PublicSuffixList; the action policy and the DMARC
 * options it gives (action.h). */
static int
session_conf_dmarc(struct session_conf *c, struct buf *errors)
{
	const struct config *cfg = c->cfg;
	struct orgdomain_options oo;
	const char *why = NULL;
	int r;

	memset(&oo, 0, sizeof(oo));
	oo.method = cfg->org_domain == CONFIG_ORGDOMAIN_PSL
	                ? ORGDOMAIN_PSL
	                : ORGDOMAIN_TREEWALK;
	oo.psl_path = cfg->public_suffix_list;
	r = orgdomain_new(&oo, &c->org, &why);
	if (r < 0) {
		buf_addf(errors, "%s: OrgDomain: %s\n", cfg->path,
		    why != NULL ? why : strerror(-r));
		return r;
	}
	action_policy_from_config(cfg, &c->policy);
	action_dmarc_options(&c->policy, &c->dmarc);
	return session_conf_arc(c, errors);
}

int
session_conf_new(struct config *cfg, struct session_dns *dns,
    struct session_conf **ret, struct buf *errors)
{
	struct session_conf *c = calloc(1, sizeof(*c));
	int r = 0;

	if (c == NULL) {
		config_unref(cfg);
		return -ENOMEM;
	}
	atomic_init(&c->refs, 1);
	c->cfg = cfg;
	c->dns = session_dns_ref(dns);
	c->sign_headers =
	    session_conf_names(&cfg->sign_headers, &c->n_sign_headers);
	c->oversign =
	    session_conf_names(&cfg->oversign_headers, &c->n_oversign);
	if ((cfg->sign_headers.n > 0 && c->sign_headers == NULL) ||
	    (cfg->oversign_headers.n > 0 && c->oversign == NULL))
		r = -ENOMEM;
	if (r == 0)
		r = session_conf_dmarc(c, errors);
	if (r == 0 && cfg->failure_reports)
		r = failure_options_from_config(cfg, &c->fail);
	if (r < 0) {
		session_conf_unref(c);
		return r;
	}
	*ret = c;
	return 0;
}

struct session_conf *
session_conf_ref(struct session_conf *c)
{
	atomic_fetch_add(&c->refs, 1);
	return c;
}

struct session_conf *
session_conf_unref(struct session_conf *c)
{
	if (c == NULL || atomic_fetch_sub(&c->refs, 1) != 1)
		return NULL;
	orgdomain_free(c->org);
	failure_options_free(&c->fail);
	free(c->arc_sealers);
	free(c->sign_headers);
	free(c->oversign);
	session_dns_unref(c->dns);
	config_unref(c->cfg);
	free(c);
	return NULL;
}

/* ---- connection ---- */

static void session_reset(struct session *s);

struct session *
session_new(struct session_conf *conf)
{
	struct session *s = calloc(1, sizeof(*s));

	if (s == NULL)
		return NULL;
	s->arena = arena_new(SESSION_ARENA_BLOCK);
	if (s->arena == NULL) {
		free(s);
		return NULL;
	}
	s->conf = session_conf_ref(conf);
	session_reset(s);
	return s;
}

struct session *
session_free(struct session *s)
{
	if (s == NULL)
		return NULL;
	arena_free(s->arena);
	session_conf_unref(s->conf);
	free(s->hostname);
	free(s->helo);
	free(s);
	return NULL;
}

bool
session_wants_rcpt(const struct session *s)
{
	return s->conf->cfg->spool_dir != NULL ||
	       (s->conf->cfg->arc_key != NULL &&
	           s->conf->cfg->arc_seal_rcpt.n > 0);
}

/* A bounded heap copy of a name from the MTA (NULL stays NULL). */
static char *
session_copy_name(const char *name)
{
	return name != NULL ? strndup(name, SESSION_NAME_MAX) : NULL;
}

/* Append s (NULL: "-") quoted: every value that came from the client
 * or the message is quoted and escaped in the log (log.h). */
static void
session_quote(struct buf *b, const char *v)
{
	if (v == NULL)
		buf_adds(b, "-");
	else
		log_quote(b, v, strlen(v));
}

static void
session_log_connect(struct session *s, const char *hostname)
{
	struct buf b;

	buf_init(&b, SESSION_LOG_MAX);
	buf_adds(&b, "connect from ");
	session_quote(&b, hostname);
	buf_addf(&b, " [%s]%s%s", s->ip_text, s->internal ? " internal" : "",
	    s->local ? " local-submission" : "");
	log_debug("%s", buf_cstr(&b));
	buf_free(&b);
}

void
session_connect(
    struct session *s, const char *hostname, const struct sockaddr *sa)
{
	const struct config *cfg = s->conf->cfg;
	const void *addr = NULL;
	in_port_t port = 0;

	free(s->hostname);
	s->hostname = session_copy_name(hostname);
	if (sa != NULL && table_ip_from_sockaddr(sa, &s->ip) == 0) {
		s->have_ip = true;
		if (sa->sa_family == AF_INET) {
			const struct sockaddr_in *in = (const void *)sa;
			addr = &in->sin_addr;
			port = in->sin_port;
		} else {
			const struct sockaddr_in6 *in6 = (const void *)sa;
			addr = &in6->sin6_addr;
			port = in6->sin6_port;
		}
		inet_ntop(sa->sa_family, addr, s->ip_text, sizeof(s->ip_text));
	}
	/* Postfix's non_smtpd_milters path (sendmail, pickup) announces the
	 * client "localhost" with no address, or 127.0.0.1 with port 0; a
	 * real SMTP client always has a port. */
	s->local = hostname != NULL && strcmp(hostname, "localhost") == 0 &&
	           (!s->have_ip || port == 0);
	s->internal =
	    config_is_internal(cfg, s->have_ip ? &s->ip : NULL, s->hostname);
	if (log_enabled(LOG_LVL_DEBUG))
		session_log_connect(s, hostname);
}

void
session_helo(struct session *s, const char *name)
{
	free(s->helo);
	s->helo = session_copy_name(name);
}

/* ---- message ---- */

static void
session_fail(struct session *s, int err, const char *where)
{
	if (s->error == 0) {
		s->error = err;
		s->error_where = where;
	}
}

/* An arena copy of a macro or path (NULL stays NULL; ENOMEM noted). */
static const char *
session_keep(struct session *s, const char *v)
{
	char *c;

	if (v == NULL)
		return NULL;
	c = arena_memdup(s->arena, v, strnlen(v, SESSION_NAME_MAX));
	if (c == NULL)
		session_fail(s, -ENOMEM, "envelope");
	return c;
}

static void
session_reset(struct session *s)
{
	arena_reset(s->arena);
	s->in_message = false;
	s->queue_id = s->mail_from = s->auth_authen = NULL;
	s->rcpt_domain = s->why = s->from_domain = NULL;
	s->rcpts = NULL;
	s->n_rcpts = 0;
	s->body_copy = NULL;
	s->body_len = 0;
	s->body_more = false;
	s->n_failure = 0;
	s->path = SESSION_PATH_NONE;
	s->sign = NULL;
	s->signers = NULL;
	s->n_signers = 0;
	s->verdict = NULL;
	s->seal_rcpt = s->reseal = false;
	s->seal = NULL;
	s->sealed = NULL;
	s->seal_why = NULL;
	s->forged = NULL;
	s->n_forged = s->cap_forged = 0;
	s->n_authres = 0;
	s->error = 0;
	s->error_where = NULL;
	s->bytes = 0;
	memset(&s->outcome, 0, sizeof(s->outcome));
	msg_init(&s->msg, s->arena);
}

void
session_envfrom(struct session *s, const char *path, const char *auth_authen,
    const char *daemon_name, const char *queue_id)
{
	session_reset(s);
	s->in_message = true;
	clock_gettime(CLOCK_MONOTONIC, &s->start);
	s->mail_from = session_keep(s, path);
	s->auth_authen = auth_authen != NULL && auth_authen[0] != '\0'
	                     ? session_keep(s, auth_authen)
	                     : NULL;
	s->queue_id = session_keep(s, queue_id);
	if (log_enabled(LOG_LVL_DEBUG)) {
		struct buf b;

		buf_init(&b, SESSION_LOG_MAX);
		buf_addf(
		    &b, "%s: mail from ", queue_id != NULL ? queue_id : "-");
		session_quote(&b, path);
		buf_addf(&b,
		    " auth=%s daemon=", s->auth_authen != NULL ? "yes" : "no");
		session_quote(&b, daemon_name);
		log_debug("%s", buf_cstr(&b));
		buf_free(&b);
	}
}

/* FailureReports: the first BOUND_FAILURE_RCPTS recipients, for
 * Original-Rcpt-To (a copy that cannot be made is a report field less,
 * never the message's problem). */
static void
session_keep_rcpt(struct session *s, const char *path)
{
	if (s->rcpts == NULL)
		s->rcpts = arena_zalloc(
		    s->arena, BOUND_FAILURE_RCPTS * sizeof(*s->rcpts));
	if (s->rcpts != NULL && s->n_rcpts < BOUND_FAILURE_RCPTS &&
	    (s->rcpts[s->n_rcpts] = session_keep(s, path)) != NULL)
		s->n_rcpts++;
}

void
session_rcpt(struct session *s, const char *path)
{
	struct addr_path p;

	if (path != NULL && s->conf->cfg->failure_reports)
		session_keep_rcpt(s, path);
	if (path == NULL ||
	    (s->rcpt_domain != NULL &&
	        (s->seal_rcpt || s->conf->cfg->arc_seal_rcpt.n == 0)))
		return;
	if (addr_parse_path(s->arena, path, strlen(path), &p, NULL) != 0 ||
	    p.null_sender)
		return;
	if (s->rcpt_domain == NULL)
		s->rcpt_domain = p.mailbox.domain;
	/* ARCSealRecipientDomains: any recipient in the list */
	if (config_arc_seals(s->conf->cfg, NULL, NULL, p.mailbox.domain, false))
		s->seal_rcpt = true;
}

/* RFC 8601 section 5: an Authentication-Results field that names our
 * authserv-id and did not come from us is removed. Noted as the fields
 * arrive, so a message whose header is too large to keep still loses
 * every one of them. */
static void
session_note_authres(struct session *s, const char *value, size_t len)
{
	int *p;

	s->n_authres++;
	if (!authres_is_ours(value, len, s->conf->cfg->authserv_id))
		return;
	if (s->n_forged == s->cap_forged) {
		s->cap_forged = s->cap_forged ? 2 * s->cap_forged : 8;
		p = arena_alloc(s->arena, s->cap_forged * sizeof(*p));
		if (p == NULL) {
			session_fail(s, -ENOMEM, "header");
			return;
		}
		if (s->n_forged > 0)
			memcpy(p, s->forged, s->n_forged * sizeof(*p));
		s->forged = p;
	}
	s->forged[s->n_forged++] = s->n_authres;
}

void
session_header(
    struct session *s, const char *name, const char *value, bool leadspc)
{
	size_t vlen = strlen(value);
	char *v;
	int r;

	s->bytes += strlen(name) + 1 + vlen + 2; /* name ":" value CRLF */
	if (strcasecmp(name, "Authentication-Results") == 0)
		session_note_authres(s, value, vlen);
	if (s->error != 0)
		return;
	if (leadspc) {
		r = msg_add_header(&s->msg, name, strlen(name), value, vlen);
	} else {
		/* without SMFIP_HDR_LEADSPC the MTA dropped the space after
		 * the colon: put the usual one back */
		v = arena_alloc(s->arena, vlen + 2);
		if (v == NULL) {
			session_fail(s, -ENOMEM, "header");
			return;
		}
		v[0] = ' ';
		memcpy(v + 1, value, vlen + 1);
		r = msg_add_header(&s->msg, name, strlen(name), v, vlen + 1);
	}
	/* a name that is not RFC 5322 ftext is the message's: the field is
	 * left out like one past the bounds, and only ENOMEM is ours */
	if (r == -EINVAL)
		s->msg.dropped++;
	else if (r < 0)
		session_fail(s, r, "header");
}

/* The author of the message: the one address of the one From field.
 * @return 0 with *ret_addr; -EBADMSG with *ret_why; -ENOMEM. */
static int
session_author(
    struct session *s, const struct addr **ret_addr, const char **ret_why)
{
	const struct msg_header *h;
	struct addr_list list;
	struct addr_error err;
	size_t pos = 0, n;
	int r;

	n = msg_count(&s->msg, "From");
	if (n != 1) {
		*ret_why = n == 0 ? "no From field" : "several From fields";
		return -EBADMSG;
	}
	h = msg_find(&s->msg, "From", &pos);
	r = addr_parse_from(s->arena, h->value, h->value_len, &list, &err);
	if (r == -EBADMSG) {
		*ret_why = err.why;
		return r;
	}
	if (r < 0)
		return r;
	s->from_domain = list.addrs[0].domain;
	if (list.count != 1) {
		*ret_why = "several From addresses";
		return -EBADMSG;
	}
	*ret_addr = &list.addrs[0];
	return 0;
}

/* dkim_signer for each signature config_signing_keys() chose. */
static int
session_signers(struct session *s, const struct config_signer *cs, size_t n,
    struct dkim_signer **ret)
{
	const struct session_conf *c = s->conf;
	struct dkim_signer *sg;
	size_t i;

	sg = arena_alloc(s->arena, n * sizeof(*sg));
	if (sg == NULL)
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		dkim_signer_init(&sg[i]);
		sg[i].domain = cs[i].domain;
		sg[i].selector = cs[i].selector;
		sg[i].identity = cs[i].identity;
		sg[i].key = cs[i].key->key;
		sg[i].header_canon = c->cfg->canon_header;
		sg[i].body_canon = c->cfg->canon_body;
		sg[i].headers = c->sign_headers;
		sg[i].n_headers = c->n_sign_headers;
		sg[i].oversign = c->oversign;
		sg[i].n_oversign = c->n_oversign;
	}
	*ret = sg;
	return 0;
}

/* Start signing when the From domain has keys; else say why not. */
static void
session_sign_begin(struct session *s)
{
	struct config_signer *cs;
	struct dkim_signer *sg;
	const struct addr *from;
	const char *why = NULL;
	size_t n = 0;
	int r;

	if (s->msg.limit != NULL) {
		/* the fields past the bounds are not kept: a signature over
		 * what is left would not verify downstream */
		s->why = "header past the limits";
		return;
	}
	r = session_author(s, &from, &why);
	if (r == -EBADMSG) {
		s->why = why;
		return;
	}
	cs = arena_alloc(s->arena, BOUND_SIGNING_KEYS * sizeof(*cs));
	if (r == 0 && cs == NULL)
		r = -ENOMEM;
	if (r == 0)
		r = config_signing_keys(s->conf->cfg, from->local, from->domain,
		    s->arena, cs, BOUND_SIGNING_KEYS, &n, &why);
	if (r == 0 && n == 0) {
		s->why = why;
		return;
	}
	if (r == 0)
		r = session_signers(s, cs, n, &sg);
	if (r == 0)
		r = dkim_sign_begin(s->arena, &s->msg, sg, n, &s->sign);
	if (r == -E2BIG) {
		/* more fields to sign than h= may list: the message's */
		s->why = "too many header fields to sign";
		return;
	}
	if (r < 0) {
		session_fail(s, r, "signing");
		return;
	}
	s->signers = cs;
	s->n_signers = n;
	s->path = SESSION_PATH_SIGN;
}

/* TrustedForwarders: a client in the list (by address or host name, as
 * config.h matches it) has its mail evaluated with itself as a trusted
 * forwarder, so a DMARC failure is not acted on and the report says
 * trusted_forwarder (RFC 9990 PolicyOverrideType). */
static int
session_forwarder(struct session *s, struct verdict_env *env)
{
	struct dmarc_options *o;
	struct dmarc_forwarder *fw;

	if (s->conf->cfg->trusted_forwarders == NULL || !s->have_ip)
		return 0;
	o = arena_alloc(s->arena, sizeof(*o));
	fw = arena_zalloc(s->arena, sizeof(*fw));
	if (o == NULL || fw == NULL)
		return -ENOMEM;
	if (!action_forwarder(s->conf->cfg, s->ip_text, s->hostname, fw))
		return 0;
	*o = s->conf->dmarc;
	o->forwarders = fw;
	o->forwarder_count = 1;
	env->dmarc = o;
	return 0;
}

/* Whether this message is to be sealed (ARCSealInbound for verified
 * mail, ARCSealHosts, ARCSealRecipientDomains). */
static bool
session_seals(const struct session *s, bool verified)
{
	return s->seal_rcpt ||
	       config_arc_seals(s->conf->cfg, s->have_ip ? &s->ip : NULL,
	           s->hostname, NULL, verified);
}

static void
session_verify_begin(struct session *s)
{
	const struct config *cfg = s->conf->cfg;
	struct verdict_env *env;
	int r;

	env = arena_zalloc(s->arena, sizeof(*env));
	if (env == NULL) {
		session_fail(s, -ENOMEM, "verifying");
		return;
	}
	env->resolver = s->conf->dns->resolver;
	env->key_cache = s->conf->dns->keys; /* one for all connections */
	env->now = (int64_t)time(NULL);
	env->authserv_id = cfg->authserv_id;
	env->client_ip = s->ip_text[0] != '\0' ? s->ip_text : NULL;
	env->helo = s->helo;
	env->mail_from = s->mail_from;
	env->receiver = cfg->authserv_id;
	env->envelope_to = s->rcpt_domain;
	env->org = s->conf->org;
	env->dmarc = &s->conf->dmarc;
	r = session_forwarder(s, env);
	if (r < 0) {
		session_fail(s, r, "verifying");
		return;
	}
	env->max_signatures = cfg->max_signatures;
	env->min_rsa_bits = cfg->min_key_bits;
	env->allow_partial_body = cfg->body_length == CONFIG_BODY_LENGTH_ACCEPT;
	if (session_seals(s, true))
		env->arc_seal = &s->conf->arc_seal;
	env->dns_budget_ms = cfg->dns_time_budget * 1000;
	r = verdict_begin(s->arena, &s->msg, env, &s->verdict);
	if (r < 0) {
		session_fail(s, r, "verifying");
		return;
	}
	s->path = SESSION_PATH_VERIFY;
}

/* A message from a submission client of ARCSealHosts that carries our
 * Authentication-Results was verified when it arrived (the list software
 * re-injecting it, changed): it is sealed with those results, not
 * verified again; signed when its From domain has a key. */
static bool
session_reseal_begin(struct session *s)
{
	const struct config *cfg = s->conf->cfg;
	struct arc_seal_options so;
	int r;

	/* only a client of ARCSealHosts may hand us Authentication-Results
	 * of ours to seal: from anybody else they would be forged, and our
	 * seal would vouch for them */
	if (s->n_forged == 0 || cfg->arc_key == NULL ||
	    cfg->arc_seal_hosts == NULL ||
	    !table_hosts_match(
	        cfg->arc_seal_hosts, s->have_ip ? &s->ip : NULL, s->hostname))
		return false;
	s->reseal = true;
	s->why = "re-injected, verified on arrival";
	if (cfg->mode & CONFIG_MODE_SIGN)
		session_sign_begin(s);
	so = s->conf->arc_seal;
	so.bodies = NULL;
	r = arc_seal_begin(s->arena, &s->msg, &so, &s->seal);
	if (r < 0)
		session_fail(s, r, "sealing");
	return true;
}

void
session_eoh(struct session *s)
{
	const struct config *cfg = s->conf->cfg;
	bool submit = s->internal || s->auth_authen != NULL || s->local;
	const char *why;

	if (s->error != 0)
		return;
	if (submit && session_reseal_begin(s))
		return;
	if (submit && (cfg->mode & CONFIG_MODE_SIGN)) {
		session_sign_begin(s);
		if (s->path == SESSION_PATH_SIGN || s->error != 0)
			return;
	} else if (!submit) {
		s->why = "external client, not authenticated";
	} else {
		s->why = "Mode does not include s";
	}
	why = action_unverified(
	    cfg, s->have_ip ? &s->ip : NULL, s->hostname, submit);
	if (why != NULL) {
		if (!submit)
			s->why = why;
		return;
	}
	session_verify_begin(s);
}

/* FailureReportsBodies: the first bytes of the body, for a failure
 * record (memory: that many bytes per message in flight). */
static void
session_keep_body(struct session *s, const uint8_t *chunk, size_t len)
{
	size_t max = s->conf->fail.body_max, n;

	if (s->body_copy == NULL &&
	    (s->body_copy = arena_alloc(s->arena, max)) == NULL) {
		s->body_more = true;
		return;
	}
	n = max - s->body_len < len ? max - s->body_len : len;
	memcpy(s->body_copy + s->body_len, chunk, n);
	s->body_len += n;
	s->body_more |= n < len;
}

void
session_body(struct session *s, const uint8_t *chunk, size_t len)
{
	int r = 0;

	s->bytes += len;
	if (s->error != 0)
		return;
	if (s->path == SESSION_PATH_SIGN)
		r = dkim_sign_body(s->sign, (const char *)chunk, len);
	else if (s->path == SESSION_PATH_VERIFY) {
		r = verdict_body(s->verdict, (const char *)chunk, len);
		if (s->conf->fail.body_max > 0 && s->conf->cfg->failure_reports)
			session_keep_body(s, chunk, len);
	}
	if (r == 0 && s->seal != NULL)
		r = arc_seal_body(s->seal, (const char *)chunk, len);
	if (r < 0)
		session_fail(s, r, "body");
}

/* ---- end of message ---- */

/* v with its CRLF folds turned into the MTA's LF (arena copy). */
static const char *
session_lf(struct session *s, const char *v)
{
	size_t n = strlen(v), i, j = 0;
	char *c = arena_alloc(s->arena, n + 1);

	if (c == NULL)
		return NULL;
	for (i = 0; i < n; i++)
		if (!(v[i] == '\r' && v[i + 1] == '\n'))
			c[j++] = v[i];
	c[j] = '\0';
	return c;
}

/* The A-R value of a message we could not evaluate. */
static const char *
session_authres_error(struct session *s)
{
	const char *ar = NULL;
	struct buf b;

	buf_init(&b, 1024);
	authres_begin(&b, s->conf->cfg->authserv_id);
	authres_method(&b, "dkim", AUTH_TEMPERROR, "internal error");
	if (buf_error(&b) == 0)
		ar = arena_memdup(s->arena, b.data, b.len);
	buf_free(&b);
	return ar;
}

/* Apply act to the outcome the MTA gets. */
static void
session_apply(struct session *s, const struct action *act)
{
	struct session_outcome *o = &s->outcome;

	switch (act->kind) {
	case ACTION_REJECT:
	case ACTION_TEMPFAIL:
		o->reply = act->kind == ACTION_REJECT ? SESSION_REJECT
		                                      : SESSION_TEMPFAIL;
		o->code = act->code;
		o->xcode = act->xcode;
		o->text = act->text;
		break;
	case ACTION_QUARANTINE:
		o->quarantine = act->text;
		break;
	case ACTION_ACCEPT:
		break;
	}
}

/* One insert at the top, the value in the MTA's form. */
static int
session_insert(struct session *s, struct session_edit *e, const char *name,
    const char *value)
{
	e->kind = SESSION_EDIT_INSERT;
	e->name = name;
	return (e->value = session_lf(s, value)) == NULL ? -ENOMEM : 0;
}

/* Fill o->edits: forged A-R deletions (last first, so indices stay
 * right), then inserts at the top in reverse of the final order: our
 * A-R, then the signatures from the last to the first, then the new ARC
 * set (AAR, AMS, AS: the seal ends on top, RFC 8617 section 5.1). */
static int
session_edits(struct session *s, const char *authres, const char **sigs)
{
	struct session_outcome *o = &s->outcome;
	struct session_edit *e;
	size_t n = 0, i;

	e = arena_zalloc(
	    s->arena, (s->n_forged + 4 + s->n_signers) * sizeof(*e));
	if (e == NULL)
		return -ENOMEM;
	for (i = s->n_forged; i > 0; i--) {
		e[n].kind = SESSION_EDIT_DELETE;
		e[n].name = "Authentication-Results";
		e[n++].index = s->forged[i - 1];
	}
	if (authres != NULL) {
		e[n].kind = SESSION_EDIT_INSERT;
		e[n].name = "Authentication-Results";
		if ((e[n++].value = session_lf(s, authres)) == NULL)
			return -ENOMEM;
	}
	for (i = sigs != NULL ? s->n_signers : 0; i > 0; i--) {
		e[n].kind = SESSION_EDIT_INSERT;
		e[n].name = "DKIM-Signature";
		if ((e[n++].value = session_lf(s, sigs[i - 1])) == NULL)
			return -ENOMEM;
	}
	if (s->sealed != NULL &&
	    (session_insert(s, &e[n++], "ARC-Authentication-Results",
	         s->sealed->aar) < 0 ||
	        session_insert(
	            s, &e[n++], "ARC-Message-Signature", s->sealed->ams) < 0 ||
	        session_insert(s, &e[n++], "ARC-Seal", s->sealed->as) < 0))
		return -ENOMEM;
	o->edits = e;
	o->n_edits = n;
	return 0;
}

static void
session_log_spf_dmarc(struct buf *b, const struct verdict *v)
{
	const struct dmarc_author *a;

	if (v->spf != NULL)
		buf_addf(b, " spf=%s", auth_result_name(v->spf->result));
	else
		buf_adds(b, " spf=none");
	if (v->dmarc == NULL) {
		buf_adds(b, " dmarc=none");
		return;
	}
	buf_addf(b, " dmarc=%s", auth_result_name(v->dmarc->result));
	a = v->dmarc->decisive;
	if (a != NULL && a->policy_domain != NULL) {
		buf_adds(b, " policy=");
		log_quote(b, a->policy_domain, strlen(a->policy_domain));
	}
	if (v->dns_budget_spent)
		buf_adds(b, " dns=budget-spent");
}

/* The ARC part of the log line: the chain's status (and why not pass),
 * and what was sealed or why not. */
static void
session_log_arc(struct buf *b, const struct session *s, const struct verdict *v)
{
	if (v != NULL && v->arc != NULL) {
		buf_addf(b, " arc=%s", auth_result_name(v->arc->status));
		if (v->arc->status != AUTH_NONE &&
		    v->arc->status != AUTH_PASS) {
			buf_adds(b, " arc-reason=");
			log_quote(b, v->arc->reason, strlen(v->arc->reason));
		}
	}
	if (s->sealed != NULL)
		buf_addf(b, " sealed i=%u cv=%s", s->sealed->instance,
		    arc_cv_name(s->sealed->cv));
	else if (s->seal_why != NULL)
		buf_addf(b, " not sealed (%s)", s->seal_why);
}

/* One aggregate-report record per evaluated author domain; a spool that
 * cannot be written costs a report row, never the message. */
static void
session_spool(struct session *s, const struct verdict *v)
{
	const char *dir = s->conf->cfg->spool_dir;
	size_t i;
	int r;

	for (i = 0; dir != NULL && i < v->n_spool; i++) {
		r = spool_append(dir, &v->spool[i], time(NULL), NULL);
		observe_spool(s->conf->obs, r);
		if (r < 0)
			log_warning("%s: spool %s: %s",
			    s->queue_id != NULL ? s->queue_id : "NOQUEUE", dir,
			    strerror(-r));
	}
}

/* FailureReports: the failure records the message calls for, appended
 * to the spool in one write each; nothing is built or sent here (the
 * sender is `authmilter report --failures`). A record that cannot be
 * written costs a report, never the message. */
static void
session_failure(
    struct session *s, const struct verdict *v, const struct action *act)
{
	const struct config *cfg = s->conf->cfg;
	struct failure_envelope env;
	struct failure_record *recs;
	const char *why = NULL, *qid;
	size_t n = 0;
	int r;

	if (!cfg->failure_reports || cfg->spool_dir == NULL)
		return;
	qid = s->queue_id != NULL ? s->queue_id : "NOQUEUE";
	memset(&env, 0, sizeof(env));
	env.now = (int64_t)time(NULL);
	env.reporting_host = cfg->authserv_id;
	env.authserv_id = cfg->authserv_id;
	env.client_ip = s->ip_text[0] != '\0' ? s->ip_text : NULL;
	env.helo = s->helo;
	env.mail_from = s->mail_from;
	env.rcpt = s->rcpts;
	env.rcpt_count = s->n_rcpts;
	env.delivery_result = failure_delivery_result(
	    act->kind == ACTION_REJECT || act->kind == ACTION_TEMPFAIL,
	    act->kind == ACTION_QUARANTINE);
	env.body = s->body_copy;
	env.body_len = s->body_len;
	env.body_truncated = s->body_more;
	r = failure_records(
	    v, &s->msg, &env, &s->conf->fail, s->arena, &recs, &n, &why);
	if (r == 0 && n > 0) {
		r = failure_append(
		    cfg->spool_dir, recs, n, time(NULL), NULL, &why);
		observe_failure_records(s->conf->obs, n, r);
	}
	if (r < 0)
		log_warning("%s: failure record not written: %s", qid,
		    why != NULL ? why : strerror(-r));
	else if (n > 0)
		s->n_failure = n; /* on the message's log line */
	else
		log_debug("%s: no failure record: %s", qid, why);
}

/* The header-limit and From facts of the verdict, when there are any. */
static void
session_log_limits(struct buf *b, const struct verdict *v)
{
	if (v->unevaluable != NULL) {
		buf_adds(b, " unevaluable=");
		session_quote(b, v->unevaluable);
	} else if (v->header_limit != NULL) {
		buf_addf(b, " header-dropped=%zu limit=", v->header_dropped);
		session_quote(b, v->header_limit);
	}
	if (v->from_invalid) {
		buf_adds(b, " from-invalid=");
		session_quote(b, v->from_why);
	}
}

/* One info line per message: queue id, client, From domain, what was
 * done and how long it took. Every value that came from the client or
 * the message is quoted (log_quote). */
static void
session_log(
    struct session *s, const struct verdict *v, const struct action *act)
{
	enum log_level level = s->error != 0 ? LOG_LVL_WARNING : LOG_LVL_INFO;
	const char *from;
	struct timespec now;
	struct buf b;
	double ms;
	size_t i;

	if (!log_enabled(level))
		return;
	clock_gettime(CLOCK_MONOTONIC, &now);
	ms = (double)(now.tv_sec - s->start.tv_sec) * 1e3 +
	     (double)(now.tv_nsec - s->start.tv_nsec) / 1e6;
	buf_init(&b, SESSION_LOG_MAX);
	/* the queue id is the MTA's, not the message's */
	buf_addf(&b, "%s: client=%s from=",
	    s->queue_id != NULL ? s->queue_id : "NOQUEUE",
	    s->ip_text[0] != '\0' ? s->ip_text
	    : s->local            ? "local"
	                          : "unknown");
	from = v != NULL && v->n_from > 0 ? v->from_domains[0] : s->from_domain;
	session_quote(&b, from);
	if (s->path == SESSION_PATH_SIGN && s->error == 0) {
		buf_adds(&b, " signed");
		for (i = 0; i < s->n_signers; i++) {
			buf_adds(&b, " d=");
			session_quote(&b, s->signers[i].domain);
			buf_adds(&b, " s=");
			session_quote(&b, s->signers[i].selector);
			buf_addf(&b, " a=%s", dkim_alg_name(s->signers[i].alg));
		}
	} else if (s->why != NULL) {
		/* the why can carry the From ("no SigningTable entry for
		 * ...") */
		buf_adds(&b, " not signed (");
		session_quote(&b, s->why);
		buf_adds(&b, ")");
	}
	for (i = 0; v != NULL && i < v->n_dkim; i++) {
		buf_addf(&b, " dkim=%s", auth_result_name(v->dkim[i].result));
		if (v->dkim[i].domain != NULL) {
			buf_adds(&b, " d=");
			session_quote(&b, v->dkim[i].domain);
		}
		if (v->dkim[i].reason != NULL && v->dkim[i].reason[0] != '\0') {
			buf_adds(&b, " reason=");
			session_quote(&b, v->dkim[i].reason);
		}
	}
	if (v != NULL && v->n_dkim == 0)
		buf_adds(&b, " dkim=none");
	session_log_arc(&b, s, v);
	if (v != NULL) {
		session_log_spf_dmarc(&b, v);
		session_log_limits(&b, v);
	}
	if (s->n_forged > 0)
		buf_addf(&b, " removed-authres=%zu", s->n_forged);
	if (s->n_failure > 0)
		buf_addf(&b, " failure-records=%zu", s->n_failure);
	if (s->error != 0)
		buf_addf(&b, " error=\"%s: %s\"", s->error_where,
		    strerror(-s->error));
	buf_addf(&b, " action=%s", action_name(act->kind));
	if (act->why != NULL)
		buf_addf(&b, " (%s)", act->why);
	if (act->code != NULL)
		buf_addf(&b, " reply=\"%s %s\"", act->code, act->xcode);
	buf_addf(&b, " ms=%.1f", ms);
	log_msg(level, "%s", buf_cstr(&b));
	buf_free(&b);
}

/* Whether the verdict was asked to seal (it then says what it did). */
static bool
env_seals(const struct verdict *v)
{
	return v->arc_sealed != NULL || v->arc_not_sealed != NULL;
}

/* The re-injected message's seal: the AAR is our Authentication-Results
 * from its arrival (consolidated), the cv= the arc= they recorded. */
static void
session_reseal_finish(struct session *s)
{
	struct arc_sealed *set;
	struct arc_chain chain;
	enum auth_result st;
	const char *payload;
	int r;

	set = arena_alloc(s->arena, sizeof(*set));
	r = set == NULL ? -ENOMEM : arc_parse(s->arena, &s->msg, &chain);
	if (r == 0)
		r = arc_authres_payload(s->arena, &s->msg,
		    s->conf->cfg->authserv_id, ARC_FORMAT_FOLDED, &payload,
		    &st);
	/* two arc= results, or one we do not know: the chain is failed */
	if (r == 0 && st == AUTH_PERMERROR)
		st = AUTH_FAIL;
	if (r == 0)
		r = arc_seal_finish(s->seal, &chain, st, payload,
		    (int64_t)time(NULL), set, &s->seal_why);
	if (r < 0)
		session_fail(s, r, "sealing");
	else if (s->seal_why == NULL)
		s->sealed = set;
}

/* Finish signing or verifying; the signatures or the verdict, or an
 * error noted in s. */
static void
session_finish(
    struct session *s, const char ***ret_sigs, const struct verdict **ret_v)
{
	const char **sigs;
	int r;

	if (s->error != 0)
		return;
	if (s->path == SESSION_PATH_SIGN) {
		sigs =
		    arena_alloc(s->arena, (s->n_signers + 1) * sizeof(*sigs));
		r = sigs == NULL
		        ? -ENOMEM
		        : dkim_sign_finish(s->sign, (int64_t)time(NULL), sigs);
		if (r < 0)
			session_fail(s, r, "signing");
		else
			*ret_sigs = sigs;
	} else if (s->path == SESSION_PATH_VERIFY) {
		r = verdict_finish(s->verdict, ret_v);
		if (r < 0)
			session_fail(s, r, "verifying");
		else if (env_seals(*ret_v)) {
			s->sealed = (*ret_v)->arc_sealed;
			s->seal_why = (*ret_v)->arc_not_sealed;
		}
	}
	if (s->error == 0 && s->seal != NULL)
		session_reseal_finish(s);
}

/* The message's counts for the metrics endpoint (observe.h): its path,
 * the action (action.h) the MTA is told, the signatures made, the
 * verdict (NULL after an internal error), and the time since
 * session_eom began (t0, dns_clock_us). */
static void
session_observe(struct session *s, const struct verdict *v,
    const struct action *act, bool signed_, uint64_t t0)
{
	static const enum observe_action actions[] = {
	    [ACTION_ACCEPT] = OBSERVE_ACCEPT,
	    [ACTION_QUARANTINE] = OBSERVE_QUARANTINE,
	    [ACTION_TEMPFAIL] = OBSERVE_TEMPFAIL,
	    [ACTION_REJECT] = OBSERVE_REJECT,
	};
	struct observe *o = s->conf->obs;
	size_t i;

	if (o == NULL)
		return;
	for (i = 0; signed_ && s->error == 0 && i < s->n_signers; i++)
		observe_signature(o, s->signers[i].domain, s->signers[i].alg);
	observe_verdict(o, v);
	observe_message(o,
	    s->path == SESSION_PATH_SIGN     ? OBSERVE_PATH_SIGN
	    : s->path == SESSION_PATH_VERIFY ? OBSERVE_PATH_VERIFY
	                                     : OBSERVE_PATH_NONE,
	    actions[act->kind], s->error != 0, s->bytes, dns_clock_us() - t0);
}

void
session_eom(
    struct session *s, const char *queue_id, struct session_outcome *ret)
{
	const struct config *cfg = s->conf->cfg;
	const struct verdict *v = NULL;
	const char **sigs = NULL, *authres = NULL;
	struct action act;
	uint64_t t0 = s->conf->obs != NULL ? dns_clock_us() : 0;

	memset(&act, 0, sizeof(act));
	if (s->queue_id == NULL && queue_id != NULL)
		s->queue_id = session_keep(s, queue_id);
	session_finish(s, &sigs, &v);
	if (s->error == 0 && v != NULL) {
		authres = v->authres;
		if (action_decide(
		        v, &s->conf->policy, s->local, s->arena, &act) < 0)
			session_fail(s, -ENOMEM, "action");
		else {
			session_spool(s, v);
			session_failure(s, v, &act);
		}
	}
	if (s->error != 0) {
		/* OnInternalError: the message goes on unsigned and, when
		 * it was to be verified, with temperror recorded */
		authres = NULL;
		if (s->path != SESSION_PATH_SIGN &&
		    (cfg->mode & CONFIG_MODE_VERIFY))
			authres = session_authres_error(s);
		action_internal_error(&s->conf->policy, &act);
		sigs = NULL;
		v = NULL;
	}
	session_apply(s, &act);
	if (session_edits(s, authres, sigs) < 0) {
		session_fail(s, -ENOMEM, "edits");
		s->outcome.edits = NULL;
		s->outcome.n_edits = 0;
	}
	session_log(s, v, &act);
	session_observe(s, v, &act, sigs != NULL, t0);
	*ret = s->outcome;
	s->in_message = false;
}

void
session_abort(struct session *s)
{
	if (s->in_message)
		log_debug("%s: message aborted",
		    s->queue_id != NULL ? s->queue_id : "NOQUEUE");
	session_reset(s);
}
