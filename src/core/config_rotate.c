/*
 * config_rotate.c -- the key rotation part of the configuration (see
 * config_rotate.h).
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "authmilter/config_rotate.h"
#include "authmilter/rotate.h"
#include "authmilter/xalloc.h"

/* The options that mean nothing without RotateDomains. */
static const char *const rotate_options[] = {
    "RotateInterval",
    "RotateOverlap",
    "RotateTTL",
    "RotateKeys",
    "RotateSelector",
    "RotatePublish",
    "RotateTSIGKey",
    "RotateUpdateServer",
    "RotateAuthPort",
    "RotateReveal",
    "RotateStateDir",
    "RotateKeyDir",
};

struct rotate_loader {
	struct config *cfg;
	const char *file;
	struct dkim_key_pool *pool; /* keys to take over, or NULL */
	struct buf *errors;
	int status;
};

static void rotate_err(struct rotate_loader *l, const char *option,
    const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* "file:line: Option: reason", at the line that set option (or the
 * file alone when it was not given). */
static void
rotate_err(struct rotate_loader *l, const char *option, const char *fmt, ...)
{
	unsigned line = config_option_line(l->cfg, option);
	char msg[600];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (line > 0)
		buf_addf(
		    l->errors, "%s:%u: %s: %s\n", l->file, line, option, msg);
	else
		buf_addf(l->errors, "%s: %s: %s\n", l->file, option, msg);
	l->status = -EINVAL;
}

const char *
config_rotate_duration(const char *v, unsigned *ret)
{
	unsigned long long n = 0, unit;
	const char *p = v;

	for (; isdigit((unsigned char)*p); p++) {
		n = n * 10 + (unsigned)(*p - '0');
		if (n > UINT_MAX)
			return "too long";
	}
	if (p == v || p[0] == '\0' || p[1] != '\0')
		return "want a number and a unit: 90d, 12h, 30m, 45s or 2w";
	switch (*p) {
	case 's':
		unit = 1;
		break;
	case 'm':
		unit = 60;
		break;
	case 'h':
		unit = 3600;
		break;
	case 'd':
		unit = 86400;
		break;
	case 'w':
		unit = 7 * 86400;
		break;
	default:
		return "unit: want s, m, h, d or w";
	}
	if (n * unit > UINT_MAX)
		return "too long";
	*ret = (unsigned)(n * unit);
	return NULL;
}

/* One item of RotateKeys (n bytes at s). */
static const char *
rotate_type(const char *s, size_t n, struct config_rotate_type *t, char *why,
    size_t cap)
{
	unsigned long bits = 0;
	size_t i;

	if (n == 7 && strncasecmp(s, "ed25519", 7) == 0) {
		t->type = DKIM_KEY_ED25519;
		t->bits = 0;
		return NULL;
	}
	if (n > 4 && strncasecmp(s, "rsa-", 4) == 0 && n <= 8) {
		for (i = 4; i < n && isdigit((unsigned char)s[i]); i++)
			bits = bits * 10 + (unsigned)(s[i] - '0');
		if (i == n && bits >= 1024 && bits <= 4096) {
			t->type = DKIM_KEY_RSA;
			t->bits = (unsigned)bits;
			return NULL;
		}
	}
	snprintf(why, cap, "\"%.*s\": want rsa-BITS (1024 to 4096) or ed25519",
	    (int)(n > 40 ? 40 : n), s);
	return why;
}

const char *
config_rotate_types(const struct config_strlist *items,
    struct config_rotate_type *ret, size_t *ret_n, char *why, size_t cap)
{
	size_t i;

	if (items->n == 0) {
		snprintf(why, cap, "empty list");
		return why;
	}
	if (items->n > 2) {
		snprintf(why, cap, "at most two keys: one RSA, one Ed25519");
		return why;
	}
	for (i = 0; i < items->n; i++)
		if (rotate_type(items->v[i], strlen(items->v[i]), &ret[i], why,
		        cap) != NULL)
			return why;
	if (items->n == 2 && ret[0].type == ret[1].type) {
		snprintf(why, cap, "two %s keys: one of each type",
		    dkim_key_type_name(ret[0].type));
		return why;
	}
	*ret_n = items->n;
	return NULL;
}

static void
rotate_defaults(struct config *cfg, const char *file)
{
	struct config_rotate *r = &cfg->rotate;
	const char *slash;
	size_t n;

	if (r->interval == 0)
		r->interval = CONFIG_ROTATE_INTERVAL;
	if (r->overlap == 0)
		r->overlap = CONFIG_ROTATE_OVERLAP;
	if (r->ttl == 0)
		r->ttl = CONFIG_ROTATE_TTL;
	if (r->n_types == 0) {
		r->types[0].type = DKIM_KEY_RSA;
		r->types[0].bits = 2048;
		r->n_types = 1;
	}
	if (r->selector == NULL)
		r->selector = xstrdup(CONFIG_ROTATE_SELECTOR);
	if (r->auth_port == 0)
		r->auth_port = 53;
	if (r->update_server.port == 0)
		r->update_server.port = 53;
	if (r->state_dir == NULL)
		r->state_dir = xstrdup(CONFIG_ROTATE_STATE_DIR);
	if (r->key_dir == NULL) {
		/* keys/ beside the configuration: /etc/authmilter/keys */
		slash = strrchr(file, '/');
		n = slash ? (size_t)(slash - file) + 1 : 0;
		r->key_dir = xmalloc(n + 5);
		snprintf(r->key_dir, n + 5, "%.*skeys", (int)n, file);
	}
}

/* A directory option: it exists, and its path stays one word of the
 * state file. */
static void
rotate_check_dir(struct rotate_loader *l, const char *option, const char *path,
    bool must_exist)
{
	struct stat st;

	if (strpbrk(path, " \t#") != NULL)
		rotate_err(
		    l, option, "\"%s\": no blanks or '#' in this path", path);
	else if (stat(path, &st) != 0) {
		if (must_exist || errno != ENOENT)
			rotate_err(l, option, "%s: %s", path, strerror(errno));
	} else if (!S_ISDIR(st.st_mode))
		rotate_err(l, option, "%s: not a directory", path);
}

static void
rotate_check(struct rotate_loader *l)
{
	struct config *cfg = l->cfg;
	struct config_rotate *r = &cfg->rotate;
	struct dns_tsig key;
	char sel[BOUND_LABEL_LEN + 1];
	struct buf why;
	size_t i;

	if (r->overlap <= r->ttl)
		rotate_err(l, "RotateOverlap",
		    "must be longer than RotateTTL "
		    "(%us): caches keep the old "
		    "record that long",
		    r->ttl);
	if (r->interval <= r->overlap)
		rotate_err(l, "RotateInterval",
		    "must be longer than "
		    "RotateOverlap (%us)",
		    r->overlap);
	for (i = 0; i < r->n_types; i++)
		if (rotate_selector(r->selector, 0, r->types[i].type, sel,
		        sizeof(sel)) != 0)
			rotate_err(l, "RotateSelector",
			    "\"%s\": codes are %%Y %%m %%d %%H %%M %%S %%t; "
			    "the result must be one label of letters, digits "
			    "and '-' (at most 63)",
			    r->selector);
	if (r->n_types > 1 && strstr(r->selector, "%t") == NULL)
		rotate_err(l, "RotateSelector",
		    "\"%s\": with two key types "
		    "it needs %%t",
		    r->selector);
	for (i = 0; i < r->n_types; i++)
		if ((cfg->sign_alg == CONFIG_ALG_RSA_SHA256 &&
		        r->types[i].type != DKIM_KEY_RSA) ||
		    (cfg->sign_alg == CONFIG_ALG_ED25519_SHA256 &&
		        r->types[i].type != DKIM_KEY_ED25519))
			rotate_err(l, "RotateKeys",
			    "%s keys cannot sign %s "
			    "(SignatureAlgorithm)",
			    dkim_key_type_name(r->types[i].type),
			    config_alg_name(cfg->sign_alg));
	if (cfg->pid_file == NULL)
		rotate_err(l, "RotateDomains",
		    "rotation tells the daemon to "
		    "load new keys through PidFile: "
		    "set PidFile");
	rotate_check_dir(l, "RotateStateDir", r->state_dir, false);
	rotate_check_dir(l, "RotateKeyDir", r->key_dir, true);
	if (r->publish == CONFIG_ROTATE_UPDATE && r->tsig_key == NULL) {
		rotate_err(l, "RotatePublish", "update needs RotateTSIGKey");
	} else if (r->publish == CONFIG_ROTATE_UPDATE) {
		buf_init(&why, 1024);
		if (config_rotate_tsig(cfg, &key, &why) != 0)
			rotate_err(l, "RotateTSIGKey", "%s%s", buf_cstr(&why),
			    strstr(buf_cstr(&why), "chmod") != NULL
			        ? ", or set RequireSafeKeys no"
			        : "");
		dns_tsig_clear(&key);
		buf_free(&why);
	}
}

/* The current keys of a switched domain into cfg->keys. */
static void
rotate_load_keys(struct rotate_loader *l, const char *state_path,
    const struct rotate_domain *d, size_t di)
{
	struct config *cfg = l->cfg;
	struct config_key *k;
	char name[BOUND_DOMAIN_LEN + BOUND_LABEL_LEN + 32];
	struct buf why;
	size_t i;

	cfg->rotate.key_first[di] = cfg->n_keys;
	for (i = 0; i < d->n_keys; i++) {
		if (d->keys[i].role != ROTATE_CURRENT)
			continue;
		cfg->keys =
		    xrealloc(cfg->keys, (cfg->n_keys + 1) * sizeof(*cfg->keys));
		k = &cfg->keys[cfg->n_keys];
		memset(k, 0, sizeof(*k));
		snprintf(name, sizeof(name), "rotate:%s._domainkey.%s",
		    d->keys[i].selector, d->name);
		k->name = xstrdup(name);
		k->domain = xstrdup(d->name);
		k->selector = xstrdup(d->keys[i].selector);
		k->path = xstrdup(d->keys[i].path ? d->keys[i].path : "-");
		buf_init(&why, PATH_MAX + sizeof(name));
		buf_addf(&why, "%s: domain %s", state_path, d->name);
		k->where = xstrdup(buf_cstr(&why));
		buf_free(&why);
		cfg->n_keys++;
		buf_init(&why, 1024);
		if (dkim_key_load_pooled(k->path, !cfg->require_safe_keys,
		        l->pool, &k->key, &why) != 0) {
			buf_addf(l->errors, "%s: current key: %s\n", k->where,
			    buf_cstr(&why));
			l->status = -EINVAL;
		} else {
			k->alg = dkim_privkey_alg(k->key);
			k->bits = dkim_privkey_bits(k->key);
			cfg->rotate.key_count[di]++;
		}
		buf_free(&why);
	}
}

static void
rotate_load_state(struct rotate_loader *l)
{
	struct config *cfg = l->cfg;
	struct config_rotate *r = &cfg->rotate;
	char path[PATH_MAX];
	struct rotate_state st;
	const struct rotate_domain *d;
	struct buf why;
	size_t i;

	r->key_first = xcalloc(r->domains.n, sizeof(size_t));
	r->key_count = xcalloc(r->domains.n, sizeof(size_t));
	if (config_rotate_path(cfg, CONFIG_ROTATE_STATE, path, sizeof(path)) !=
	    0) {
		rotate_err(l, "RotateStateDir", "path too long");
		return;
	}
	buf_init(&why, 1024);
	if (rotate_state_load(path, &st, &why) != 0) {
		buf_addf(l->errors, "%s\n", buf_cstr(&why));
		l->status = -EINVAL;
		buf_free(&why);
		return;
	}
	buf_free(&why);
	r->generation = st.generation;
	for (i = 0; i < r->domains.n; i++) {
		d = rotate_state_domain(&st, r->domains.v[i], false);
		if (d != NULL && d->switched > 0)
			rotate_load_keys(l, path, d, i);
	}
	rotate_state_free(&st);
}

int
config_rotate_load(struct config *cfg, const char *file,
    struct dkim_key_pool *pool, struct buf *errors)
{
	struct rotate_loader l = {
	    .cfg = cfg, .file = file, .pool = pool, .errors = errors};
	size_t i;

	if (cfg->rotate.domains.n == 0) {
		for (i = 0;
		     i < sizeof(rotate_options) / sizeof(*rotate_options); i++)
			if (config_option_line(cfg, rotate_options[i]) > 0)
				rotate_err(&l, rotate_options[i],
				    "needs RotateDomains (rotation is off)");
		return l.status;
	}
	rotate_defaults(cfg, file);
	rotate_check(&l);
	rotate_load_state(&l);
	return l.status;
}

void
config_rotate_free(struct config *cfg)
{
	struct config_rotate *r = &cfg->rotate;
	size_t i;

	for (i = 0; i < r->domains.n; i++)
		free(r->domains.v[i]);
	free(r->domains.v);
	free(r->selector);
	free(r->tsig_key);
	free(r->update_server.addr);
	free(r->state_dir);
	free(r->key_dir);
	free(r->key_first);
	free(r->key_count);
	memset(r, 0, sizeof(*r));
}

/* The index of the rotated domain named name that has keys, or -1. */
static long
rotate_index(const struct config *cfg, const char *name)
{
	const struct config_rotate *r = &cfg->rotate;
	size_t i;

	if (r->key_count == NULL)
		return -1;
	for (i = 0; i < r->domains.n; i++)
		if (r->key_count[i] > 0 &&
		    strcasecmp(r->domains.v[i], name) == 0)
			return (long)i;
	return -1;
}

/* Append domain i's keys to out (at most max), with identity. */
static size_t
rotate_add_keys(const struct config *cfg, size_t i, const char *identity,
    struct config_signer *out, size_t n, size_t max)
{
	const struct config_rotate *r = &cfg->rotate;
	const struct config_key *k;
	size_t j;

	for (j = 0; j < r->key_count[i] && n < max; j++) {
		k = &cfg->keys[r->key_first[i] + j];
		out[n].domain = r->domains.v[i];
		out[n].selector = k->selector;
		out[n].identity = identity;
		out[n].key = k;
		out[n].alg = k->alg;
		n++;
	}
	return n;
}

void
config_rotate_signers(const struct config *cfg, const char *from_domain,
    struct config_signer *ret, size_t n, size_t max, size_t *ret_n)
{
	struct config_signer out[BOUND_SIGNING_KEYS];
	bool done[BOUND_SIGNING_KEYS] = {false};
	size_t i, j, o = 0;
	long d;

	if (max > BOUND_SIGNING_KEYS)
		max = BOUND_SIGNING_KEYS;
	for (i = 0; i < n && o < max; i++) {
		d = rotate_index(cfg, ret[i].domain);
		if (d < 0) {
			out[o++] = ret[i];
			continue;
		}
		/* every signer with this d= gives way, once, to the domain's
		 * current keys */
		for (j = 0; j < i; j++)
			if (done[j] &&
			    strcasecmp(ret[j].domain, ret[i].domain) == 0)
				break;
		done[i] = true;
		if (j == i)
			o = rotate_add_keys(
			    cfg, (size_t)d, ret[i].identity, out, o, max);
	}
	if (n == 0 && (d = rotate_index(cfg, from_domain)) >= 0)
		o = rotate_add_keys(cfg, (size_t)d, NULL, out, 0, max);
	memcpy(ret, out, o * sizeof(*out));
	*ret_n = o;
}

int
config_rotate_tsig(
    const struct config *cfg, struct dns_tsig *ret, struct buf *why)
{
	char *text = NULL;
	size_t len = 0;
	int r;

	memset(ret, 0, sizeof(*ret));
	if (cfg->rotate.tsig_key == NULL) {
		buf_adds(why, "no RotateTSIGKey");
		return -ENOENT;
	}
	r = dkim_key_read_file(
	    cfg->rotate.tsig_key, !cfg->require_safe_keys, &text, &len, why);
	if (r != 0)
		return r;
	r = dns_tsig_parse(text, len, cfg->rotate.tsig_key, ret, why);
	explicit_bzero(text, len);
	free(text);
	return r;
}

int
config_rotate_path(
    const struct config *cfg, const char *name, char *out, size_t cap)
{
	if (cfg->rotate.state_dir == NULL ||
	    snprintf(out, cap, "%s/%s", cfg->rotate.state_dir, name) >=
	        (int)cap)
		return -ENAMETOOLONG;
	return 0;
}

int
config_rotate_ack(const struct config *cfg)
{
	char path[PATH_MAX];
	int r;

	if (cfg->rotate.domains.n == 0)
		return 0;
	if ((r = config_rotate_path(
	         cfg, CONFIG_ROTATE_ACK, path, sizeof(path))) != 0)
		return r;
	return rotate_state_ack_write(
	    path, cfg->rotate.generation, (long)getpid());
}
