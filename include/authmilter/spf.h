/*
 * spf.h -- Sender Policy Framework (RFC 7208): check_host() for the
 * MAIL FROM and HELO identities, the record parser and macro expansion.
 *
 * Implements RFC 7208 section 2.4 (identities, postmaster@HELO for the
 * null reverse-path), 4 (check_host: initial processing, record lookup
 * and selection, evaluation, the lookup limits of 4.6.4), 5 (mechanisms
 * all, include, a, mx, ptr, ip4, ip6, exists with dual CIDR lengths;
 * IPv4-mapped IPv6 clients evaluated as IPv4), 6 (modifiers redirect and
 * exp; unknown modifiers ignored), 7 (macros), 9.1 (Received-SPF).
 *
 * Modules: spf_record.c parses a record into terms, spf_macro.c checks
 * and expands macro-strings, spf.c evaluates. Every DNS query goes
 * through the dns interface; each evaluation makes a bounded number of
 * queries whatever the records say: at most SPF_MAX_LOOKUPS terms that
 * query DNS, at most SPF_MAX_NAMES address lookups per mx or ptr, one
 * PTR walk per evaluation (shared by ptr and %{p}), and the explanation.
 *
 * Memory: everything an evaluation produces (result, reasons, parsed
 * records, expanded names) lives in the arena the caller passes; DNS
 * answers are released through arena cleanups. Strings in results are
 * arena-owned. Thread rules: none beyond the resolver's (dns_query is
 * thread-safe); one arena per evaluation.
 */
#ifndef AUTHMILTER_SPF_H
#define AUTHMILTER_SPF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "authmilter/arena.h"
#include "authmilter/authres.h"
#include "authmilter/buf.h"
#include "authmilter/dns.h"

/* RFC 7208 section 4.6.4: terms that cause DNS queries, void lookups,
 * and names looked up per mx or ptr term. */
#define SPF_MAX_LOOKUPS 10
#define SPF_MAX_VOID_LOOKUPS 2
#define SPF_MAX_NAMES 10

/* A client address. IPv4-mapped IPv6 (::ffff:a.b.c.d) is stored as IPv4
 * (RFC 7208 section 5: such a client MUST be treated as IPv4). */
struct spf_ip {
	int family;       /* AF_INET or AF_INET6 */
	uint8_t addr[16]; /* 4 or 16 bytes used, network order */
};

/* spf_ip_parse -- text (dotted quad or RFC 4291 IPv6) into *ret_ip.
 * @return 0, or -EINVAL if s is not an address. */
int spf_ip_parse(const char *s, struct spf_ip *ret_ip);

enum spf_identity {
	SPF_MFROM = 0, /* MAIL FROM (postmaster@HELO when it is null) */
	SPF_HELO,      /* the HELO/EHLO name */
};

/* What one evaluation is about. Every pointer is borrowed for the call. */
struct spf_request {
	struct dns_resolver *dns; /* where every query goes */
	struct spf_ip ip;         /* the SMTP client */
	const char *helo;         /* HELO/EHLO argument as given, or
	                           * NULL */
	const char *mail_from;    /* reverse-path without <>; "" or
	                           * NULL: the null sender */
	const char *receiver;     /* %{r}: our host name; NULL:
	                           * "unknown" */
	const char *default_exp;  /* explanation for fail when the
	                           * domain publishes none (a macro-
	                           * string, exp rules); NULL: built-in */
	long long now;            /* %{t}: seconds since the epoch */
};

/* The outcome. result is one of none, neutral, pass, fail, softfail,
 * temperror, permerror. Strings are arena-owned, never NULL unless said. */
struct spf_result {
	enum auth_result result;
	enum spf_identity identity;
	const char *sender;      /* <sender> checked: local-part@domain */
	const char *domain;      /* <domain> check_host() started from
	                          * ("" when there is no usable domain) */
	const char *mechanism;   /* the term that decided, as written
	                          * ("-all", "include:_spf.example.com"),
	                          * "default" when none matched, NULL when no
	                          * term decided (none, errors) */
	const char *reason;      /* why, for logs (names the offending term
	                          * and domain for errors) */
	const char *explanation; /* fail only (RFC 7208 section 6.2), else
	                          * NULL */
	unsigned lookups;        /* terms counted against SPF_MAX_LOOKUPS */
	unsigned void_lookups;   /* RFC 7208 section 4.6.4 */
	unsigned queries;        /* DNS queries made, explanation included */
};

/* spf_check -- evaluate one identity (RFC 7208 section 4). For SPF_MFROM
 * the sender is mail_from, or postmaster@helo for the null sender; for
 * SPF_HELO it is postmaster@helo.
 * @return 0 and *ret_result (arena-owned), or -ENOMEM. DNS failures and
 * bad records are results (temperror, permerror), not errors. */
int spf_check(const struct spf_request *req, enum spf_identity identity,
    struct arena *a, struct spf_result **ret_result);

/* spf_received -- append the value of a Received-SPF header (RFC 7208
 * section 9.1: result, comment, key-value pairs; without the field name
 * and without a final CRLF) for res to b. Values from the client are
 * quoted; control bytes are dropped. */
void spf_received(
    struct buf *b, const struct spf_request *req, const struct spf_result *res);

/* spf_identity_name -- "mailfrom" or "helo" (RFC 7208 section 9.1). */
const char *spf_identity_name(enum spf_identity identity);

/* ---- records (spf_record.c) ---- */

enum spf_mech {
	SPF_M_ALL = 0,
	SPF_M_INCLUDE,
	SPF_M_A,
	SPF_M_MX,
	SPF_M_PTR,
	SPF_M_IP4,
	SPF_M_IP6,
	SPF_M_EXISTS,
};

/* One directive. Pointers point into the parsed text (not copied). */
struct spf_term {
	enum spf_mech mech;
	enum auth_result qualifier; /* pass, fail, softfail, neutral */
	const char *text;           /* the term as written */
	size_t text_len;
	const char *spec; /* domain-spec, or NULL: <domain> */
	size_t spec_len;
	unsigned cidr4, cidr6; /* prefix lengths (32, 128 unless
	                        * given) */
	uint8_t addr[16];      /* ip4 (4 bytes) or ip6 network */
};

struct spf_record {
	size_t nterms;
	struct spf_term *terms; /* arena-owned */
	const char *redirect;   /* domain-spec of redirect=, or NULL */
	size_t redirect_len;
	const char *exp; /* domain-spec of exp=, or NULL */
	size_t exp_len;
};

/* spf_record_is_spf -- whether a TXT record is an SPF record: it starts
 * with "v=spf1" (any case) followed by a space or its end (RFC 7208
 * section 4.5). */
bool spf_record_is_spf(const uint8_t *txt, size_t len);

/* spf_record_parse -- parse a whole record (version included) and check
 * every term's syntax (RFC 7208 sections 4.6.1, 5, 6, 7.1, 12), so an
 * error anywhere is found before evaluation.
 * txt must outlive the record. @return 0 and *ret_record (arena-owned),
 * -EINVAL with *ret_why (arena-owned, names the offending term), or
 * -ENOMEM. */
int spf_record_parse(struct arena *a, const char *txt, size_t len,
    struct spf_record **ret_record, const char **ret_why);

/* ---- macros (spf_macro.c) ---- */

enum spf_macro_kind {
	SPF_MACRO_DOMAIN = 0, /* domain-spec: letters s l o d i p h v */
	SPF_MACRO_EXP,        /* explanation text: also c r t, and SP */
	SPF_MACRO_ANY,        /* unknown-modifier value: any letter */
};

/* The values macros expand to (RFC 7208 section 7.3). */
struct spf_macro_env {
	const char *sender;        /* s */
	const char *local;         /* l */
	const char *sender_domain; /* o */
	const char *domain;        /* d */
	const struct spf_ip *ip;   /* i, c, v */
	const char *helo;          /* h ("" when unknown) */
	const char *receiver;      /* r */
	long long now;             /* t */
	/* p: the validated name of ip for domain, or "unknown"; NULL on
	 * ENOMEM. Called only when %{p} occurs. */
	const char *(*validated_name)(void *ctx, const char *domain);
	void *ctx;
};

/* spf_macro_check -- syntax of a macro-string of the given kind (RFC 7208
 * section 7.1). *ret_end_macro (may be NULL) says whether the string ends
 * with a macro-expand (for the domain-end rule).
 * @return 0, or -EINVAL with *ret_why (static text). */
int spf_macro_check(const char *s, size_t len, enum spf_macro_kind kind,
    bool *ret_end_macro, const char **ret_why);

/* spf_macro_expand -- append the expansion of s to out (whose cap bounds
 * the result). The syntax is checked as by spf_macro_check.
 * @return 0, -EINVAL with *ret_why (static text), -ERANGE when out's cap
 * is reached, -ENOMEM. */
int spf_macro_expand(const struct spf_macro_env *env, const char *s, size_t len,
    enum spf_macro_kind kind, struct buf *out, const char **ret_why);

/* spf_macro_ip -- append ip in %{i} form (dotted quad, or 32 dot-separated
 * nibbles for IPv6) to out. */
void spf_macro_ip(struct buf *out, const struct spf_ip *ip);

#endif
