/*
 * dns_zone.c -- the in-memory record store behind `--zone` and the tests.
 *
 * Records come from RFC 1035 zone files (parsed by ldns, section 5.1
 * master-file syntax: $ORIGIN, $TTL, relative names, parentheses,
 * several strings per TXT) or are added one at a time. A file may hold
 * names of many domains and no SOA: the store is a flat set of names, not
 * a zone with an apex. Answers follow what a resolver would see:
 *   the name has records of the type       -> DNS_OK, TTL = smallest
 *   the name has a CNAME                    -> follow it (at most
 *                                              ZONE_CNAME_HOPS hops)
 *   the name exists (records, or an empty non-terminal: a longer name
 *   ends with ".name")                      -> DNS_NODATA
 *   otherwise                               -> DNS_NXDOMAIN
 *   a ";@fault" directive matches           -> DNS_TEMPFAIL
 * The negative TTL is the SOA minimum of the closest enclosing SOA in the
 * store (RFC 2308 section 5), else ZONE_NEG_TTL.
 *
 * Names are stored lower-case (ASCII) without the final dot, in a chained
 * hash table (hashed by hash.h). Threads: loading and adding are not
 * thread-safe; once loaded, the store is read-only and queries run
 * concurrently (the query counter is atomic).
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "authmilter/bounds.h"
#include "authmilter/dns.h"
#include "authmilter/hash.h"
#include "authmilter/xalloc.h"
#include "dns_ldns.h"

/* A resolver gives up on a CNAME chain after a few hops; 8 is what
 * common resolvers allow and more than any real chain. */
#define ZONE_CNAME_HOPS 8
/* Negative TTL when no SOA covers the name (RFC 2308 suggests 1-3 h for
 * real zones; test data wants short). */
#define ZONE_NEG_TTL 300
/* TTL of records added without one (dns_zone_add, dns_zone_add_rr). */
#define ZONE_DEFAULT_TTL 300

struct zone_rec {
	uint16_t type;
	uint16_t pref;
	uint32_t ttl;
	size_t len;
	uint8_t *data; /* len bytes + NUL */
};

struct zone_fault {
	uint16_t type;   /* 0 = any */
	bool unanswered; /* a timeout: no server replied */
	char *why;
};

struct zone_node {
	struct zone_node *next; /* hash chain */
	uint64_t hash;
	size_t nrecs, caprecs;
	struct zone_rec *recs;
	bool below; /* some name with records ends in .name */
	size_t nfaults;
	struct zone_fault *faults;
	bool has_soa;
	uint32_t soa_min;
	char name[]; /* lower-case, no final dot */
};

struct zone {
	struct zone_node **buckets;
	size_t nbuckets; /* power of two */
	size_t nnodes;
};

static int zone_query(
    struct dns_resolver *, const char *, enum dns_type, struct dns_answer **);
static void zone_free(struct dns_resolver *);

static const struct dns_ops zone_ops = {
    .query = zone_query,
    .free = zone_free,
};

static struct zone_node *
zone_find(const struct zone *z, const char *key)
{
	uint64_t h = hash_str(0, key);
	struct zone_node *n;

	for (n = z->buckets[h & (z->nbuckets - 1)]; n != NULL; n = n->next)
		if (n->hash == h && strcmp(n->name, key) == 0)
			return n;
	return NULL;
}

static void
zone_grow(struct zone *z)
{
	size_t nb = z->nbuckets * 2, i;
	struct zone_node **b = xcalloc(nb, sizeof(*b)), *n, *next;

	for (i = 0; i < z->nbuckets; i++)
		for (n = z->buckets[i]; n != NULL; n = next) {
			next = n->next;
			n->next = b[n->hash & (nb - 1)];
			b[n->hash & (nb - 1)] = n;
		}
	free(z->buckets);
	z->buckets = b;
	z->nbuckets = nb;
}

/* The node for key, created if missing. */
static struct zone_node *
zone_node_get(struct zone *z, const char *key)
{
	struct zone_node *n = zone_find(z, key);
	size_t len;

	if (n != NULL)
		return n;
	if (z->nnodes >= z->nbuckets)
		zone_grow(z);
	len = strlen(key);
	n = xcalloc(1, sizeof(*n) + len + 1);
	memcpy(n->name, key, len + 1);
	n->hash = hash_str(0, key);
	n->next = z->buckets[n->hash & (z->nbuckets - 1)];
	z->buckets[n->hash & (z->nbuckets - 1)] = n;
	z->nnodes++;
	return n;
}

/* Mark every ancestor of key as having a name below it, so empty
 * non-terminals exist (RFC 8020: a name with names below is not
 * NXDOMAIN). Stops at the first one already marked. */
static void
zone_mark_ancestors(struct zone *z, const char *key)
{
	const char *dot;
	struct zone_node *p;

	for (dot = strchr(key, '.'); dot != NULL; dot = strchr(dot + 1, '.')) {
		if (dot[1] == '\0')
			break;
		p = zone_node_get(z, dot + 1);
		if (p->below)
			break;
		p->below = true;
	}
}

/* Add one record (data copied) unless the same one is there already
 * (an RRset holds each record once, RFC 2181 section 5). */
static void
zone_add(struct zone *z, const char *key, uint16_t type, uint32_t ttl,
    uint16_t pref, const uint8_t *data, size_t len)
{
	struct zone_node *n = zone_node_get(z, key);
	struct zone_rec *rec;
	size_t i;

	if (n->nrecs == 0)
		zone_mark_ancestors(z, key);

	for (i = 0; i < n->nrecs; i++) {
		rec = &n->recs[i];
		/* data is NULL for a record kept without data (len 0) */
		if (rec->type == type && rec->pref == pref && rec->len == len &&
		    (len == 0 || memcmp(rec->data, data, len) == 0)) {
			if (ttl < rec->ttl)
				rec->ttl = ttl;
			return;
		}
	}
	if (n->nrecs == n->caprecs) {
		n->caprecs = n->caprecs ? 2 * n->caprecs : 2;
		n->recs = xrealloc(n->recs, n->caprecs * sizeof(*n->recs));
	}
	rec = &n->recs[n->nrecs++];
	rec->type = type;
	rec->pref = pref;
	rec->ttl = ttl;
	rec->len = len;
	rec->data = xmalloc(len + 1);
	if (len > 0)
		memcpy(rec->data, data, len);
	rec->data[len] = '\0';
}

static bool
zone_type_known(enum dns_type type)
{
	switch (type) {
	case DNS_T_A:
	case DNS_T_AAAA:
	case DNS_T_MX:
	case DNS_T_TXT:
	case DNS_T_PTR:
		return true;
	}
	return false;
}

/* Check rr's data has the form struct dns_rr documents for type. */
static bool
zone_rr_valid(enum dns_type type, const struct dns_rr *rr)
{
	switch (type) {
	case DNS_T_A:
		return rr->len == 4;
	case DNS_T_AAAA:
		return rr->len == 16;
	case DNS_T_TXT:
		return rr->len <= BOUND_TXT_BYTES;
	case DNS_T_MX:
	case DNS_T_PTR:
		return rr->len < BOUND_DOMAIN_LEN &&
		       memchr(rr->data, '\0', rr->len) == NULL;
	}
	return false;
}

int
dns_zone_add_rr(struct dns_resolver *r, const char *name, enum dns_type type,
    const struct dns_rr *rr)
{
	char key[BOUND_DOMAIN_LEN + 1];
	uint8_t lower[BOUND_DOMAIN_LEN];
	const uint8_t *data = rr->data;
	size_t i;

	if (!dns_name_valid(name) || !zone_type_known(type) ||
	    (rr->len > 0 && rr->data == NULL) || !zone_rr_valid(type, rr))
		return -EINVAL;
	dns_name_key(name, key, sizeof(key));
	if (type == DNS_T_MX || type == DNS_T_PTR) {
		/* struct dns_rr: names lower-case without the final dot */
		for (i = 0; i < rr->len; i++)
			lower[i] = (uint8_t)tolower(rr->data[i]);
		data = lower;
		i = rr->len;
		if (i > 0 && lower[i - 1] == '.')
			i--;
		zone_add(r->ctx, key, (uint16_t)type, ZONE_DEFAULT_TTL,
		    rr->pref, data, i);
		return 0;
	}
	zone_add(r->ctx, key, (uint16_t)type, ZONE_DEFAULT_TTL, rr->pref, data,
	    rr->len);
	return 0;
}

int
dns_zone_add_fault(struct dns_resolver *r, const char *name, enum dns_type type,
    const char *why)
{
	char key[BOUND_DOMAIN_LEN + 1];
	struct zone_node *n;

	if (!dns_name_valid(name) || (type != 0 && !zone_type_known(type)))
		return -EINVAL;
	dns_name_key(name, key, sizeof(key));
	n = zone_node_get(r->ctx, key);
	/* a fault alone does not make its name exist (no records) */
	n->faults = xrealloc(n->faults, (n->nfaults + 1) * sizeof(*n->faults));
	if (why == NULL)
		why = "timeout";
	n->faults[n->nfaults].type = (uint16_t)type;
	n->faults[n->nfaults].unanswered = strcmp(why, "timeout") == 0;
	n->faults[n->nfaults].why = xstrdup(why);
	n->nfaults++;
	return 0;
}

/* Add one parsed record. Types the queries do not ask for (NS, SPF, ...)
 * are kept without data: they make their name exist. buf is scratch of
 * BOUND_TXT_BYTES + 1. @return NULL or what is wrong. */
static const char *
zone_add_ldns(struct zone *z, const ldns_rr *rr, uint8_t *buf)
{
	char key[BOUND_DOMAIN_LEN + 1];
	uint16_t type = (uint16_t)ldns_rr_get_type(rr);
	struct dns_rr d = {0, 0, NULL};
	struct zone_node *node;
	uint32_t ttl = ldns_rr_ttl(rr), min;
	int rc;

	if (dns_ldns_dname_key(ldns_rr_owner(rr), key, sizeof(key)) <= 0)
		return "owner name not usable";
	switch (type) {
	case DNS_T_A:
	case DNS_T_AAAA:
	case DNS_T_TXT:
	case DNS_T_MX:
	case DNS_T_PTR:
	case DNS_LDNS_T_CNAME:
		rc = dns_ldns_rr_data(rr, buf, BOUND_TXT_BYTES + 1, &d);
		if (rc == -E2BIG)
			return "TXT data longer than BOUND_TXT_BYTES";
		if (rc != 0)
			return "bad record data";
		break;
	case DNS_LDNS_T_SOA:
		if (ldns_rr_rd_count(rr) < 7 ||
		    ldns_rdf_size(ldns_rr_rdf(rr, 6)) != 4)
			return "bad SOA data";
		/* RFC 2308 section 5: negative TTL = min(SOA TTL, MINIMUM) */
		min = ldns_rdf2native_int32(ldns_rr_rdf(rr, 6));
		node = zone_node_get(z, key);
		node->has_soa = true;
		node->soa_min = min < ttl ? min : ttl;
		break;
	default:
		break;
	}
	zone_add(z, key, type, ttl, d.pref, d.data, d.len);
	return NULL;
}

static int
zone_fault_type(const char *word, enum dns_type *ret)
{
	static const enum dns_type types[] = {
	    DNS_T_A,
	    DNS_T_AAAA,
	    DNS_T_MX,
	    DNS_T_TXT,
	    DNS_T_PTR,
	};
	size_t i;

	if (strcasecmp(word, "ANY") == 0) {
		*ret = 0;
		return 0;
	}
	for (i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		if (strcasecmp(word, dns_type_name(types[i])) == 0) {
			*ret = types[i];
			return 0;
		}
	return -1;
}

/* One ";@fault KIND NAME TYPE" line (without the ";@fault"). NAME is
 * absolute ($ORIGIN does not apply). @return NULL or what is wrong. */
static const char *
zone_fault_line(struct dns_resolver *r, const char *line, size_t len)
{
	char *copy = xstrndup(line, len), *save, *kind, *name, *type;
	const char *err = NULL, *why;
	enum dns_type t;

	kind = strtok_r(copy, " \t\r", &save);
	name = kind ? strtok_r(NULL, " \t\r", &save) : NULL;
	type = name ? strtok_r(NULL, " \t\r", &save) : NULL;
	if (type == NULL || strtok_r(NULL, " \t\r", &save) != NULL)
		err = "expected ;@fault timeout|servfail NAME TYPE";
	else if (strcasecmp(kind, "timeout") == 0)
		why = "timeout";
	else if (strcasecmp(kind, "servfail") == 0)
		why = "SERVFAIL";
	else
		err = "unknown fault (timeout or servfail)";
	if (err == NULL && zone_fault_type(type, &t) != 0)
		err = "unknown fault type (A, AAAA, MX, TXT, PTR or ANY)";
	if (err == NULL && dns_zone_add_fault(r, name, t, why) != 0)
		err = "bad fault name";
	free(copy);
	return err;
}

static char *
zone_error(const char *label, int line, const char *reason)
{
	char *s;

	if (asprintf(&s, "%s:%d: %s", label, line, reason) < 0)
		panic("asprintf failed");
	return s;
}

/* Pass 1: the ";@fault" comment directives, which ldns skips. */
static int
zone_load_faults(struct dns_resolver *r, const char *label, const char *text,
    size_t len, char **ret_why)
{
	static const char tag[] = ";@fault";
	const char *p = text, *end = text + len, *eol, *err;
	int line = 0;

	for (; p < end; p = eol + 1) {
		line++;
		eol = memchr(p, '\n', (size_t)(end - p));
		if (eol == NULL)
			eol = end;
		while (p < eol && (*p == ' ' || *p == '\t'))
			p++;
		if ((size_t)(eol - p) < sizeof(tag) - 1 ||
		    memcmp(p, tag, sizeof(tag) - 1) != 0)
			continue;
		p += sizeof(tag) - 1;
		if (p < eol && *p != ' ' && *p != '\t')
			continue; /* ";@faultX" is a comment */
		if ((err = zone_fault_line(r, p, (size_t)(eol - p))) != NULL) {
			*ret_why = zone_error(label, line, err);
			return -EINVAL;
		}
	}
	return 0;
}

/* Pass 2: the records, through ldns (RFC 1035 section 5.1). */
static int
zone_load_records(struct dns_resolver *r, FILE *f, bool ends_nl,
    const char *label, char **ret_why)
{
	uint8_t *txt = xmalloc(BOUND_TXT_BYTES + 1);
	ldns_rdf *origin = NULL, *prev = NULL;
	uint32_t ttl = LDNS_DEFAULT_TTL;
	const char *err = NULL;
	ldns_status st;
	ldns_rr *rr;
	int line = 0;

	while (err == NULL && !feof(f)) {
		rr = NULL;
		st = ldns_rr_new_frm_fp_l(&rr, f, &ttl, &origin, &prev, &line);
		if (st == LDNS_STATUS_OK)
			err = zone_add_ldns(r->ctx, rr, txt);
		else if (st == LDNS_STATUS_SYNTAX_INCLUDE)
			err = "$INCLUDE is not supported";
		else if (st != LDNS_STATUS_SYNTAX_EMPTY &&
		         st != LDNS_STATUS_SYNTAX_TTL &&
		         st != LDNS_STATUS_SYNTAX_ORIGIN)
			err = ldns_get_errorstr_by_id(st);
		ldns_rr_free(rr);
	}
	ldns_rdf_deep_free(origin);
	ldns_rdf_deep_free(prev);
	free(txt);
	if (err != NULL) {
		/* ldns counts the newlines it read: the record's last line,
		 * unless that line had none (end of text) */
		if (feof(f) && !ends_nl)
			line++;
		*ret_why = zone_error(label, line, err);
		return -EINVAL;
	}
	return 0;
}

int
dns_zone_load_mem(struct dns_resolver *r, const char *label, const char *text,
    size_t len, char **ret_why)
{
	FILE *f;
	int rc;

	if ((rc = zone_load_faults(r, label, text, len, ret_why)) != 0)
		return rc;
	if (len == 0)
		return 0;
	/* "r": fmemopen does not write to the buffer */
	f = fmemopen((void *)(uintptr_t)text, len, "r");
	if (f == NULL) {
		rc = -errno;
		*ret_why = zone_error(label, 0, strerror(errno));
		return rc;
	}
	rc = zone_load_records(r, f, text[len - 1] == '\n', label, ret_why);
	fclose(f);
	return rc;
}

int
dns_zone_load(struct dns_resolver *r, const char *path, char **ret_why)
{
	FILE *f = fopen(path, "r");
	char *text = NULL;
	size_t len = 0;
	int rc;

	if (f == NULL) {
		rc = -errno;
		*ret_why = zone_error(path, 0, strerror(errno));
		return rc;
	}
	/* zone files are configuration: read whole, then parse twice */
	for (;;) {
		size_t got;

		text = xrealloc(text, len + 65536);
		got = fread(text + len, 1, 65536, f);
		len += got;
		if (got < 65536)
			break;
	}
	if (ferror(f)) {
		rc = -EIO;
		*ret_why = zone_error(path, 0, "read error");
	} else
		rc = dns_zone_load_mem(r, path, text, len, ret_why);
	fclose(f);
	free(text);
	return rc;
}

int
dns_zone_add(struct dns_resolver *r, const char *name, enum dns_type type,
    const char *rdata)
{
	char key[BOUND_DOMAIN_LEN + 1], *line;
	uint8_t *txt;
	const char *err;
	ldns_rr *rr = NULL;
	ldns_status st;

	if (!dns_name_valid(name) || !zone_type_known(type) ||
	    strpbrk(name, " \t\r\n;()\"\\") != NULL ||
	    strpbrk(rdata, "\r\n") != NULL)
		return -EINVAL;
	dns_name_key(name, key, sizeof(key));
	if (asprintf(&line, "%s. %d IN %s %s", key, ZONE_DEFAULT_TTL,
	        dns_type_name(type), rdata) < 0)
		return -ENOMEM;
	st = ldns_rr_new_frm_str(&rr, line, ZONE_DEFAULT_TTL, NULL, NULL);
	free(line);
	if (st != LDNS_STATUS_OK ||
	    ldns_rr_get_type(rr) != (ldns_rr_type)type) {
		ldns_rr_free(rr);
		return -EINVAL;
	}
	txt = xmalloc(BOUND_TXT_BYTES + 1);
	err = zone_add_ldns(r->ctx, rr, txt);
	free(txt);
	ldns_rr_free(rr);
	return err == NULL ? 0 : -EINVAL;
}

/* ---- queries ---- */

/* RFC 2308 section 5: the negative TTL comes from the SOA of the zone the
 * name would be in: the closest enclosing name with an SOA. */
static uint32_t
zone_neg_ttl(const struct zone *z, const char *key)
{
	const struct zone_node *n;

	for (; key != NULL; key = strchr(key, '.'), key = key ? key + 1 : NULL)
		if ((n = zone_find(z, key)) != NULL && n->has_soa)
			return n->soa_min;
	return ZONE_NEG_TTL;
}

static const struct zone_fault *
zone_fault_find(const struct zone_node *n, enum dns_type type)
{
	size_t i;

	for (i = 0; i < n->nfaults; i++)
		if (n->faults[i].type == 0 || n->faults[i].type == type)
			return &n->faults[i];
	return NULL;
}

/* Build the answer for node n (not NULL) if it has records of type or
 * is a dead end. @return 1 with *ret set, 0 if n has only a CNAME to
 * follow (copied into key), -ENOMEM. */
static int
zone_answer_node(const struct zone *z, const struct zone_node *n,
    enum dns_type type, char *key, struct dns_answer **ret)
{
	struct dns_rr rrs[BOUND_DNS_RECORDS];
	const struct zone_rec *cname = NULL;
	const struct zone_fault *f;
	uint32_t ttl = UINT32_MAX;
	size_t i, count = 0;

	if ((f = zone_fault_find(n, type)) != NULL) {
		*ret = dns_answer_new(DNS_TEMPFAIL, 0, false, f->why, NULL, 0);
		if (*ret != NULL)
			(*ret)->unanswered = f->unanswered;
		return *ret ? 1 : -ENOMEM;
	}
	for (i = 0; i < n->nrecs; i++) {
		const struct zone_rec *rec = &n->recs[i];

		if (rec->type == DNS_LDNS_T_CNAME)
			cname = rec;
		if (rec->type != type || count == BOUND_DNS_RECORDS)
			continue;
		rrs[count].pref = rec->pref;
		rrs[count].len = rec->len;
		rrs[count].data = rec->data;
		count++;
		if (rec->ttl < ttl)
			ttl = rec->ttl;
	}
	if (count > 0)
		*ret = dns_answer_new(DNS_OK, ttl, false, NULL, rrs, count);
	else if (cname != NULL) {
		memcpy(key, cname->data, cname->len + 1);
		return 0;
	} else if (n->nrecs > 0 || n->below)
		*ret = dns_answer_new(DNS_NODATA, zone_neg_ttl(z, n->name),
		    false, "no record of this type", NULL, 0);
	else
		*ret = dns_answer_new(DNS_NXDOMAIN, zone_neg_ttl(z, n->name),
		    false, "NXDOMAIN", NULL, 0);
	return *ret ? 1 : -ENOMEM;
}

static int
zone_query(struct dns_resolver *r, const char *name, enum dns_type type,
    struct dns_answer **ret_answer)
{
	const struct zone *z = r->ctx;
	char key[BOUND_DOMAIN_LEN + 1];
	const struct zone_node *n;
	struct dns_answer *a = NULL;
	int hop, rc;

	if (dns_name_key(name, key, sizeof(key)) < 0)
		return -EINVAL;
	atomic_fetch_add(&r->queries, 1);
	/* follow CNAMEs as a resolver would (RFC 1034 section 3.6.2) */
	for (hop = 0; hop <= ZONE_CNAME_HOPS; hop++) {
		if ((n = zone_find(z, key)) == NULL) {
			a = dns_answer_new(DNS_NXDOMAIN, zone_neg_ttl(z, key),
			    false, "NXDOMAIN", NULL, 0);
			break;
		}
		if ((rc = zone_answer_node(z, n, type, key, &a)) < 0)
			return rc;
		if (rc == 1)
			break;
	}
	if (hop > ZONE_CNAME_HOPS)
		a = dns_answer_new(DNS_TEMPFAIL, 0, false,
		    "CNAME chain too long or looping", NULL, 0);
	if (a == NULL)
		return -ENOMEM;
	*ret_answer = a;
	return 0;
}

/* ---- life cycle ---- */

struct dns_resolver *
dns_zone_new(void)
{
	struct dns_resolver *r = xcalloc(1, sizeof(*r));
	struct zone *z = xcalloc(1, sizeof(*z));

	z->nbuckets = 64;
	z->buckets = xcalloc(z->nbuckets, sizeof(*z->buckets));
	r->ops = &zone_ops;
	r->ctx = z;
	atomic_init(&r->queries, 0);
	return r;
}

static void
zone_free(struct dns_resolver *r)
{
	struct zone *z = r->ctx;
	struct zone_node *n, *next;
	size_t i, j;

	for (i = 0; i < z->nbuckets; i++)
		for (n = z->buckets[i]; n != NULL; n = next) {
			next = n->next;
			for (j = 0; j < n->nrecs; j++)
				free(n->recs[j].data);
			for (j = 0; j < n->nfaults; j++)
				free(n->faults[j].why);
			free(n->recs);
			free(n->faults);
			free(n);
		}
	free(z->buckets);
	free(z);
	free(r);
}
