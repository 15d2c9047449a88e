/*
 * dkim_testutil.h -- helpers shared by the dkim_key, dkim_sign and
 * dkim_verify unit tests: reading fixtures from tests/data/dkim, LF to
 * CRLF, and a tiny in-memory resolver (names -> one TXT record, or a
 * status) so the tests need no DNS backend.
 */
#ifndef AUTHMILTER_DKIM_TESTUTIL_H
#define AUTHMILTER_DKIM_TESTUTIL_H

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "authmilter/buf.h"
#include "authmilter/dkim_key.h"
#include "authmilter/dns.h"
#include "check.h"

/* The path of the fixture tests/data/dkim/<name> in path (size n); a
 * fixture that cannot be read ends the program as a failed test
 * (check_fixture). */
static inline const char *
tu_path(const char *name, char *path, size_t n)
{
	const char *root = getenv("AUTHMILTER_SOURCE_ROOT");

	snprintf(path, n, "%s/tests/data/dkim/%s",
	    root != NULL ? root : "../..", name);
	check_fixture(path);
	return path;
}

/* The fixture tests/data/dkim/<name>, NUL-terminated, caller frees; NULL
 * (and a message) if it cannot be read. */
static inline char *
tu_read(const char *name, size_t *ret_len)
{
	char path[1024];
	char *data;
	long n;
	FILE *f;

	f = fopen(tu_path(name, path, sizeof(path)), "rb");
	if (f == NULL) {
		fprintf(stderr, "cannot open %s\n", path);
		return NULL;
	}
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	data = malloc((size_t)n + 1);
	if (data != NULL && fread(data, 1, (size_t)n, f) != (size_t)n) {
		free(data);
		data = NULL;
	}
	fclose(f);
	if (data != NULL) {
		data[n] = '\0';
		if (ret_len != NULL)
			*ret_len = (size_t)n;
	}
	return data;
}

/* s with every bare LF turned into CRLF; caller frees. */
static inline char *
tu_crlf(const char *s, size_t len, size_t *ret_len)
{
	char *out = malloc(len * 2 + 1);
	size_t i, o = 0;

	if (out == NULL)
		return NULL;
	for (i = 0; i < len; i++) {
		if (s[i] == '\n' && (i == 0 || s[i - 1] != '\r'))
			out[o++] = '\r';
		out[o++] = s[i];
	}
	out[o] = '\0';
	*ret_len = o;
	return out;
}

/* ---- fake resolver: a fixed table of TXT answers ---- */

#define TU_NAMES 16

struct tu_entry {
	char name[256];
	enum dns_status status;
	char txt[4096];
};

struct tu_zone {
	struct tu_entry e[TU_NAMES];
	size_t n;
};

static inline int
tu_query(struct dns_resolver *r, const char *name, enum dns_type type,
    struct dns_answer **ret)
{
	struct tu_zone *z = r->ctx;
	struct dns_answer *a = NULL;
	struct dns_rr rr;
	size_t i;

	r->queries++;
	for (i = 0; i < z->n; i++) {
		if (strcasecmp(z->e[i].name, name) != 0)
			continue;
		if (z->e[i].status != DNS_OK || type != DNS_T_TXT) {
			a = dns_answer_new(z->e[i].status == DNS_OK
			                       ? DNS_NODATA
			                       : z->e[i].status,
			    60, false, "fake", NULL, 0);
		} else {
			rr.pref = 0;
			rr.data = (const uint8_t *)z->e[i].txt;
			rr.len = strlen(z->e[i].txt);
			a = dns_answer_new(DNS_OK, 60, false, NULL, &rr, 1);
		}
		break;
	}
	if (i == z->n)
		a = dns_answer_new(
		    DNS_NXDOMAIN, 60, false, "no such name", NULL, 0);
	if (a == NULL)
		return -ENOMEM;
	*ret = a;
	return 0;
}

static inline void
tu_free(struct dns_resolver *r)
{
	free(r->ctx);
	free(r);
}

static const struct dns_ops tu_ops = {.query = tu_query, .free = tu_free};

static inline struct dns_resolver *
tu_resolver(void)
{
	struct dns_resolver *r = calloc(1, sizeof(*r));

	if (r == NULL)
		abort();
	r->ops = &tu_ops;
	r->ctx = calloc(1, sizeof(struct tu_zone));
	if (r->ctx == NULL)
		abort();
	return r;
}

/* Answer name with status (and, for DNS_OK, the TXT record txt). */
static inline void
tu_add(struct dns_resolver *r, const char *name, enum dns_status status,
    const char *txt)
{
	struct tu_zone *z = r->ctx;

	if (z->n == TU_NAMES)
		abort();
	snprintf(z->e[z->n].name, sizeof(z->e[z->n].name), "%s", name);
	snprintf(z->e[z->n].txt, sizeof(z->e[z->n].txt), "%s",
	    txt != NULL ? txt : "");
	z->e[z->n].status = status;
	z->n++;
}

/* A test key from tests/data/dkim (test-only keys; modes not enforced).
 * A key that does not load ends the program as a failed test: every
 * caller needs it. @return the key (caller unrefs). */
static inline struct dkim_privkey *
tu_key(const char *file)
{
	struct dkim_privkey *k = NULL;
	char path[1024];
	struct buf why;

	buf_init(&why, 1024);
	if (dkim_key_load_private(
	        tu_path(file, path, sizeof(path)), true, &k, &why) != 0) {
		fprintf(stderr, "FAIL: test key %s does not load: %s\n", path,
		    buf_cstr(&why));
		exit(1);
	}
	buf_free(&why);
	return k;
}

#endif
