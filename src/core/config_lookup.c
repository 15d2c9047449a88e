/*
 * config_lookup.c -- the look-ups the milter and `verify` make per message
 * on a loaded configuration snapshot (config.h, "Per-message look-ups"):
 * the signatures to make for a From address, and the client classes
 * (InternalHosts, ExternalIgnoreList, TrustedForwarders). Loading and
 * checking the file is config.c.
 *
 * Threads: every function here only reads the snapshot, which is never
 * modified once loaded, and takes no lock; memory comes from the caller's
 * arena. Any number of threads may call them at once on one snapshot.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "authmilter/bounds.h"
#include "authmilter/config.h"
#include "authmilter/config_rotate.h"

/* s with every '%' replaced by domain, in the arena; NULL on ENOMEM. */
static const char *
config_subst(struct arena *a, const char *s, const char *domain)
{
	size_t n = 0, dl = strlen(domain);
	const char *p;
	char *out, *q;

	if (strchr(s, '%') == NULL)
		return s;
	for (p = s; *p != '\0'; p++)
		n += *p == '%' ? dl : 1;
	if ((out = arena_alloc(a, n + 1)) == NULL)
		return NULL;
	for (p = s, q = out; *p != '\0'; p++) {
		if (*p == '%') {
			memcpy(q, domain, dl);
			q += dl;
		} else {
			*q++ = *p;
		}
	}
	*q = '\0';
	return out;
}

static const char *
config_why_none(
    struct arena *a, const char *what, const char *local, const char *domain)
{
	size_t n = strlen(what) + strlen(local) + strlen(domain) + 4;
	char *s = arena_alloc(a, n);

	if (s == NULL)
		return what;
	snprintf(s, n, "%s %s%s%s", what, local, local[0] ? "@" : "", domain);
	return s;
}

/* The Domain shortcut: the listed domain that covers domain, or NULL. */
static const char *
config_domain_match(const struct config *cfg, const char *domain)
{
	size_t i, dl = strlen(domain), n;

	for (i = 0; i < cfg->domains.n; i++) {
		const char *d = cfg->domains.v[i];

		n = strlen(d);
		if (strcasecmp(d, domain) == 0)
			return d;
		if (cfg->sub_domains && dl > n && domain[dl - n - 1] == '.' &&
		    strcasecmp(domain + dl - n, d) == 0)
			return d;
	}
	return NULL;
}

static int
config_signers_table(const struct config *cfg, const char *local,
    const char *domain, struct arena *a, struct config_signer *ret, size_t max,
    size_t *ret_n)
{
	const struct table_entry *m[BOUND_SIGNING_KEYS];
	const struct table *st = cfg->signing_table;
	size_t i, n;

	n = table_lookup_address(st, local, domain, cfg->multiple_signatures, m,
	    max < BOUND_SIGNING_KEYS ? max : BOUND_SIGNING_KEYS);
	for (i = 0; i < n; i++) {
		size_t e = (size_t)(m[i] - st->entries);
		const struct config_key *k = &cfg->keys[cfg->signing_key[e]];
		const char *id = cfg->signing_identity[e];

		ret[i].key = k;
		ret[i].alg = k->alg;
		ret[i].selector = k->selector;
		/* opendkim.conf(5), KeyTable: a lone "%" is the domain */
		ret[i].domain =
		    strcmp(k->domain, "%") == 0 ? domain : k->domain;
		ret[i].identity = id ? config_subst(a, id, domain) : NULL;
		if (id != NULL && ret[i].identity == NULL)
			return -ENOMEM;
	}
	*ret_n = n;
	return 0;
}

int
config_table_signers(const struct config *cfg, const char *local,
    const char *domain, struct arena *a, struct config_signer *ret, size_t max,
    size_t *ret_n, const char **ret_why)
{
	const char *d;
	int r;

	*ret_n = 0;
	if (!(cfg->mode & CONFIG_MODE_SIGN)) {
		*ret_why = "Mode does not include s";
		return 0;
	}
	if (max == 0) {
		*ret_why = "no room for signatures";
		return 0;
	}
	if (cfg->signing_table != NULL) {
		if ((r = config_signers_table(
		         cfg, local, domain, a, ret, max, ret_n)) != 0)
			return r;
		if (*ret_n == 0)
			*ret_why = config_why_none(a,
			    "no SigningTable entry "
			    "for",
			    local, domain);
		return 0;
	}
	if (cfg->n_keys == 1 && (d = config_domain_match(cfg, domain))) {
		ret[0].key = &cfg->keys[0];
		ret[0].alg = cfg->keys[0].alg;
		ret[0].selector = cfg->keys[0].selector;
		ret[0].domain = d;
		ret[0].identity = NULL;
		*ret_n = 1;
		return 0;
	}
	*ret_why = cfg->domains.n > 0
	               ? config_why_none(a, "Domain does not list", "", domain)
	               : "no SigningTable and no Domain configured";
	return 0;
}

int
config_signing_keys(const struct config *cfg, const char *local,
    const char *domain, struct arena *a, struct config_signer *ret, size_t max,
    size_t *ret_n, const char **ret_why)
{
	int r = config_table_signers(
	    cfg, local, domain, a, ret, max, ret_n, ret_why);

	if (r != 0 || cfg->rotate.domains.n == 0 ||
	    !(cfg->mode & CONFIG_MODE_SIGN) || max == 0)
		return r;
	config_rotate_signers(cfg, domain, ret, *ret_n, max, ret_n);
	return 0;
}

bool
config_is_internal(
    const struct config *cfg, const struct table_ip *ip, const char *hostname)
{
	return table_hosts_match(cfg->internal_hosts, ip, hostname);
}

bool
config_is_external_ignored(
    const struct config *cfg, const struct table_ip *ip, const char *hostname)
{
	return table_hosts_match(cfg->external_ignore, ip, hostname);
}

bool
config_is_trusted_forwarder(
    const struct config *cfg, const struct table_ip *ip, const char *hostname)
{
	return table_hosts_match(cfg->trusted_forwarders, ip, hostname);
}

bool
config_arc_seals(const struct config *cfg, const struct table_ip *ip,
    const char *hostname, const char *rcpt_domain, bool verified)
{
	size_t i;

	if (cfg->arc_key == NULL)
		return false;
	if (verified && cfg->arc_seal_inbound)
		return true;
	if (cfg->arc_seal_hosts != NULL &&
	    table_hosts_match(cfg->arc_seal_hosts, ip, hostname))
		return true;
	for (i = 0; rcpt_domain != NULL && i < cfg->arc_seal_rcpt.n; i++)
		if (strcasecmp(cfg->arc_seal_rcpt.v[i], rcpt_domain) == 0)
			return true;
	return false;
}
