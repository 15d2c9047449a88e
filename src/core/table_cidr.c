/*
 * table_cidr.c -- host lists (InternalHosts, ExternalIgnoreList,
 * TrustedForwarders) as opendkim's peer lists: addresses and prefixes
 * (longest prefix wins, '!' wins a tie), host names and ".domain"
 * suffixes (nearest first), refile host-name patterns (file order).
 *
 * Addresses are 16 bytes with IPv4 mapped (::ffff:0:0/96), so one sorted
 * array serves both families. A lookup masks the client address to each
 * prefix length the list uses, longest first, and binary-searches the
 * entries of that length: O(L log n) for L distinct lengths (at most 129).
 * Host names stay names: nothing is resolved when the list is loaded; the
 * connecting host name (from the MTA) is compared case-insensitively.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "authmilter/table.h"
#include "authmilter/xalloc.h"

struct hosts_prefix {
	struct table_ip addr; /* host bits cleared */
	uint8_t len;          /* 0..128, IPv4 as 96 + n */
	bool neg;
};

struct hosts_name {
	char *name; /* lower-case; ".x" is a suffix */
	bool neg;
};

struct table_hosts {
	struct hosts_prefix *pfx; /* sorted: len desc, addr, neg first */
	size_t n_pfx, cap_pfx;
	uint8_t lens[129]; /* distinct lengths, longest first */
	size_t start[129]; /* first pfx index of lens[i] */
	size_t n_lens;
	struct hosts_name *names; /* sorted by name, neg first */
	size_t n_names, cap_names;
	struct hosts_name *globs; /* refile patterns, file order */
	size_t n_globs, cap_globs;
	bool refile;
};

static const uint8_t v4mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

int
table_ip_parse(const char *s, struct table_ip *ret_ip)
{
	struct in_addr a4;
	struct table_ip ip;

	if (inet_pton(AF_INET, s, &a4) == 1) {
		memcpy(ip.b, v4mapped, 12);
		memcpy(ip.b + 12, &a4, 4);
	} else if (inet_pton(AF_INET6, s, ip.b) != 1) {
		return -EINVAL;
	}
	*ret_ip = ip;
	return 0;
}

int
table_ip_from_sockaddr(const void *sa, struct table_ip *ret_ip)
{
	const struct sockaddr *s = sa;

	if (s->sa_family == AF_INET) {
		const struct sockaddr_in *in = sa;

		memcpy(ret_ip->b, v4mapped, 12);
		memcpy(ret_ip->b + 12, &in->sin_addr, 4);
		return 0;
	}
	if (s->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = sa;

		memcpy(ret_ip->b, &in6->sin6_addr, 16);
		return 0;
	}
	return -EAFNOSUPPORT;
}

static void
hosts_mask(struct table_ip *ip, unsigned len)
{
	unsigned i;

	for (i = 0; i < 16; i++) {
		if (len >= 8) {
			len -= 8;
			continue;
		}
		ip->b[i] &= (uint8_t)(0xff00 >> len);
		len = 0;
	}
}

/* A prefix length after '/': decimal up to max, or (IPv4) a dotted
 * netmask with contiguous ones. @return the length or -1. */
static int
hosts_prefix_len(const char *s, bool v4)
{
	unsigned max = v4 ? 32 : 128, n = 0;
	struct in_addr m;
	uint32_t bits;

	if (v4 && strchr(s, '.') != NULL) {
		if (inet_pton(AF_INET, s, &m) != 1)
			return -1;
		bits = ntohl(m.s_addr);
		for (n = 0; n < 32 && (bits & (0x80000000u >> n)); n++)
			;
		/* the ones must be contiguous: 255.0.255.0 is no netmask */
		return bits == (n == 0 ? 0 : 0xffffffffu << (32 - n)) ? (int)n
		                                                      : -1;
	}
	if (*s == '\0' || strlen(s) > 3)
		return -1;
	for (; *s != '\0'; s++) {
		if (!isdigit((unsigned char)*s))
			return -1;
		n = n * 10 + (unsigned)(*s - '0');
	}
	return n <= max ? (int)n : -1;
}

/* Parse "addr" or "addr/len" into p. @return NULL or the reason. */
static const char *
hosts_parse_prefix(const char *s, struct hosts_prefix *p)
{
	char addr[INET6_ADDRSTRLEN + 1];
	const char *slash = strchr(s, '/');
	size_t n = slash ? (size_t)(slash - s) : strlen(s);
	bool v4;
	int len;

	if (n >= sizeof(addr))
		return "bad IP address";
	memcpy(addr, s, n);
	addr[n] = '\0';
	v4 = strchr(addr, ':') == NULL;
	if (table_ip_parse(addr, &p->addr) != 0)
		return v4 ? "bad IPv4 address" : "bad IPv6 address";
	if (slash == NULL) {
		p->len = 128;
		return NULL;
	}
	if ((len = hosts_prefix_len(slash + 1, v4)) < 0)
		return "bad prefix length";
	p->len = (uint8_t)(v4 ? 96 + len : len);
	hosts_mask(&p->addr, p->len);
	return NULL;
}

static bool
hosts_looks_numeric(const char *s)
{
	if (strchr(s, ':') != NULL || strchr(s, '/') != NULL)
		return true;
	for (; *s != '\0'; s++)
		if (!isdigit((unsigned char)*s) && *s != '.')
			return false;
	return true;
}

/* Host-name entries: letters, digits, '-', '_', '.', and '*' in
 * patterns. @return NULL or the reason. */
static const char *
hosts_check_name(const char *s, bool refile)
{
	const char *p;

	if (*s == '\0' || strcmp(s, ".") == 0)
		return "empty host name";
	for (p = s; *p != '\0'; p++) {
		if (isalnum((unsigned char)*p) || *p == '-' || *p == '_' ||
		    *p == '.')
			continue;
		if (*p == '*')
			return refile ? NULL
			              : "wildcard '*' needs a refile: "
			                "list (opendkim never matched it in a "
			                "file: list)";
		return "not an address, network or host name";
	}
	if (strlen(s) > 255)
		return "host name too long";
	return NULL;
}

static void
hosts_add_name(
    struct hosts_name **v, size_t *n, size_t *cap, const char *name, bool neg)
{
	size_t len = strlen(name), i;

	if (*n == *cap) {
		*cap = *cap ? *cap * 2 : 16;
		*v = xrealloc(*v, *cap * sizeof(**v));
	}
	if (len > 1 && name[len - 1] == '.')
		len--;
	(*v)[*n].name = xstrndup(name, len);
	for (i = 0; i < len; i++)
		(*v)[*n].name[i] =
		    (char)tolower((unsigned char)(*v)[*n].name[i]);
	(*v)[*n].neg = neg;
	(*n)++;
}

/* Add one entry. @return NULL or the reason it is bad. */
static const char *
hosts_add(struct table_hosts *h, const char *s)
{
	struct hosts_prefix p;
	const char *why;
	bool neg = false;

	if (*s == '!') {
		neg = true;
		s++;
	}
	if (hosts_looks_numeric(s) && *s != '\0') {
		if ((why = hosts_parse_prefix(s, &p)) != NULL)
			return why;
		p.neg = neg;
		if (h->n_pfx == h->cap_pfx) {
			h->cap_pfx = h->cap_pfx ? h->cap_pfx * 2 : 16;
			h->pfx = xrealloc(h->pfx, h->cap_pfx * sizeof(p));
		}
		h->pfx[h->n_pfx++] = p;
		return NULL;
	}
	if ((why = hosts_check_name(s, h->refile)) != NULL)
		return why;
	if (strchr(s, '*') != NULL)
		hosts_add_name(&h->globs, &h->n_globs, &h->cap_globs, s, neg);
	else
		hosts_add_name(&h->names, &h->n_names, &h->cap_names, s, neg);
	return NULL;
}

static int
hosts_pfx_cmp(const void *x, const void *y)
{
	const struct hosts_prefix *a = x, *b = y;
	int c;

	if (a->len != b->len)
		return a->len > b->len ? -1 : 1;
	if ((c = memcmp(a->addr.b, b->addr.b, 16)) != 0)
		return c;
	return (int)b->neg - (int)a->neg;
}

static int
hosts_name_cmp(const void *x, const void *y)
{
	const struct hosts_name *a = x, *b = y;
	int c = strcmp(a->name, b->name);

	return c != 0 ? c : (int)b->neg - (int)a->neg;
}

static void
hosts_index(struct table_hosts *h)
{
	size_t i;

	if (h->n_pfx > 0)
		qsort(h->pfx, h->n_pfx, sizeof(*h->pfx), hosts_pfx_cmp);
	if (h->n_names > 0)
		qsort(h->names, h->n_names, sizeof(*h->names), hosts_name_cmp);
	h->n_lens = 0;
	for (i = 0; i < h->n_pfx; i++) {
		if (h->n_lens > 0 && h->lens[h->n_lens - 1] == h->pfx[i].len)
			continue;
		h->lens[h->n_lens] = h->pfx[i].len;
		h->start[h->n_lens++] = i;
	}
}

/* Entries from a comma-separated list (csl:). */
static int
hosts_from_list(struct table_hosts *h, const char *list, const char *where,
    struct buf *errors)
{
	char *copy = xstrdup(list), *item, *save = NULL, *end;
	const char *why;
	int status = 0;

	for (item = strtok_r(copy, ",", &save); item != NULL;
	     item = strtok_r(NULL, ",", &save)) {
		while (isspace((unsigned char)*item))
			item++;
		end = item + strlen(item);
		while (end > item && isspace((unsigned char)end[-1]))
			*--end = '\0';
		if (*item == '\0')
			continue;
		if ((why = hosts_add(h, item)) != NULL) {
			table_error(errors, where, 0, "\"%s\": %s", item, why);
			status = -EINVAL;
		}
	}
	free(copy);
	return status;
}

/* Entries from a file, one per line. */
static int
hosts_from_file(struct table_hosts *h, const char *path, struct buf *errors)
{
	struct table t = {.path = (char *)(uintptr_t)path};
	const char *why;
	size_t i;
	int status;

	status = table_read_lines(&t, errors);
	for (i = 0; i < t.n_entries; i++) {
		const struct table_entry *e = &t.entries[i];

		if (e->value[0] != '\0') {
			table_error(errors, path, e->line,
			    "\"%s\": one entry per line", e->value);
			status = -EINVAL;
		} else if ((why = hosts_add(h, e->key)) != NULL) {
			table_error(
			    errors, path, e->line, "\"%s\": %s", e->key, why);
			status = -EINVAL;
		}
		free(e->key);
		free(e->value);
	}
	free(t.entries);
	return status;
}

int
table_hosts_open(const char *spec, const char *where,
    struct table_hosts **ret_hosts, struct buf *errors)
{
	struct table_hosts *h = xcalloc(1, sizeof(*h));
	int r;

	if (strncmp(spec, "file:", 5) == 0 && spec[5] != '\0') {
		r = hosts_from_file(h, spec + 5, errors);
	} else if (strncmp(spec, "refile:", 7) == 0 && spec[7] != '\0') {
		h->refile = true;
		r = hosts_from_file(h, spec + 7, errors);
	} else if (spec[0] == '/') {
		r = hosts_from_file(h, spec, errors);
	} else if (strncmp(spec, "csl:", 4) == 0) {
		r = hosts_from_list(h, spec + 4, where, errors);
	} else if (strncmp(spec, "file:", 5) == 0 ||
	           strncmp(spec, "refile:", 7) == 0) {
		table_error(errors, where, 0, "\"%s\": no file name", spec);
		r = -EINVAL;
	} else {
		r = hosts_from_list(h, spec, where, errors);
	}
	if (r != 0) {
		table_hosts_free(h);
		return r;
	}
	hosts_index(h);
	*ret_hosts = h;
	return 0;
}

struct table_hosts *
table_hosts_free(struct table_hosts *h)
{
	size_t i;

	if (h == NULL)
		return NULL;
	for (i = 0; i < h->n_names; i++)
		free(h->names[i].name);
	for (i = 0; i < h->n_globs; i++)
		free(h->globs[i].name);
	free(h->names);
	free(h->globs);
	free(h->pfx);
	free(h);
	return NULL;
}

size_t
table_hosts_count(const struct table_hosts *h)
{
	return h->n_pfx + h->n_names + h->n_globs;
}

/* The entry for the name (n bytes) with '!' first, or NULL. */
static const struct hosts_name *
hosts_find_name(const struct table_hosts *h, const char *name, size_t n)
{
	size_t lo = 0, hi = h->n_names, mid;
	int c;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		c = strncasecmp(h->names[mid].name, name, n);
		if (c == 0 && h->names[mid].name[n] != '\0')
			c = 1;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo < h->n_names && strncasecmp(h->names[lo].name, name, n) == 0 &&
	    h->names[lo].name[n] == '\0')
		return &h->names[lo];
	return NULL;
}

static bool
hosts_match_name(const struct table_hosts *h, const char *hostname)
{
	const struct hosts_name *e;
	const char *p;
	size_t len = strlen(hostname), i;
	int pass;

	if (len > 1 && hostname[len - 1] == '.')
		len--;
	if (len == 0 || hostname[0] == '[') /* no name, or an address */
		return false;
	/* opendkim.conf(5), PeerList: the name, then ".domain" suffixes */
	for (p = hostname; p != NULL && p < hostname + len;
	     p = memchr(p + 1, '.', len - (size_t)(p + 1 - hostname))) {
		e = hosts_find_name(h, p, len - (size_t)(p - hostname));
		if (e != NULL)
			return !e->neg;
	}
	/* as opendkim's refile lists: any '!' pattern first, then others */
	for (pass = 0; pass < 2; pass++)
		for (i = 0; i < h->n_globs; i++)
			if (h->globs[i].neg == (pass == 0) &&
			    table_glob(h->globs[i].name,
			        strlen(h->globs[i].name), hostname, len))
				return pass == 1;
	return false;
}

static bool
hosts_match_ip(const struct table_hosts *h, const struct table_ip *ip)
{
	struct table_ip m;
	size_t i, lo, hi, mid, end;
	int c;

	for (i = 0; i < h->n_lens; i++) {
		m = *ip;
		hosts_mask(&m, h->lens[i]);
		lo = h->start[i];
		end = hi = i + 1 < h->n_lens ? h->start[i + 1] : h->n_pfx;
		while (lo < hi) {
			mid = lo + (hi - lo) / 2;
			c = memcmp(h->pfx[mid].addr.b, m.b, 16);
			if (c < 0)
				lo = mid + 1;
			else
				hi = mid;
		}
		if (lo < end && memcmp(h->pfx[lo].addr.b, m.b, 16) == 0)
			return !h->pfx[lo].neg;
	}
	return false;
}

bool
table_hosts_match(const struct table_hosts *h, const struct table_ip *ip,
    const char *hostname)
{
	if (h == NULL)
		return false;
	if (hostname != NULL && hosts_match_name(h, hostname))
		return true;
	return ip != NULL && hosts_match_ip(h, ip);
}
