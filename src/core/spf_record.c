/*
 * spf_record.c -- RFC 7208 record syntax: version, terms, directives,
 * modifiers, dual CIDR lengths, domain-spec (sections 4.5, 4.6.1, 5, 6,
 * 7.1 and the ABNF of section 12). The whole record is checked before it
 * is evaluated, so a syntax error anywhere is a permerror.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "authmilter/log.h"
#include "authmilter/span.h"
#include "authmilter/spf.h"

/* Bytes of a term quoted in a reason. */
#define RECORD_QUOTE_MAX 80

static const struct {
	const char *name;
	enum spf_mech mech;
} record_mechs[] = {
    {"all", SPF_M_ALL},
    {"include", SPF_M_INCLUDE},
    {"a", SPF_M_A},
    {"mx", SPF_M_MX},
    {"ptr", SPF_M_PTR},
    {"ip4", SPF_M_IP4},
    {"ip6", SPF_M_IP6},
    {"exists", SPF_M_EXISTS},
};

bool
spf_record_is_spf(const uint8_t *txt, size_t len)
{
	/* RFC 7208 section 4.5: "v=spf1" then SP or the end */
	return len >= 6 && strncasecmp((const char *)txt, "v=spf1", 6) == 0 &&
	       (len == 6 || txt[6] == ' ');
}

/* A reason naming the term: "<what>: \"term\"" (arena-owned). */
static const char *
record_why(struct arena *a, const char *what, const char *t, size_t n)
{
	struct buf b;
	const char *s;

	buf_init(&b, 256);
	buf_adds(&b, what);
	buf_adds(&b, " in ");
	log_quote(&b, t, n > RECORD_QUOTE_MAX ? RECORD_QUOTE_MAX : n);
	if (n > RECORD_QUOTE_MAX)
		buf_adds(&b, "...");
	s = arena_strdup(a, buf_error(&b) == 0 ? buf_cstr(&b) : what);
	buf_free(&b);
	return s != NULL ? s : "syntax error";
}

static bool
record_alnum(char c)
{
	return isalnum((unsigned char)c) != 0;
}

/* RFC 7208 section 7.1: toplabel = ( *alphanum ALPHA *alphanum ) /
 * ( 1*alphanum "-" *( alphanum / "-" ) alphanum ) */
static bool
record_toplabel(const char *s, size_t n)
{
	bool alpha = false, dash = false;
	size_t i;

	if (n == 0 || !record_alnum(s[0]) || !record_alnum(s[n - 1]))
		return false;
	for (i = 0; i < n; i++) {
		if (s[i] == '-')
			dash = true;
		else if (!record_alnum(s[i]))
			return false;
		else if (isalpha((unsigned char)s[i]))
			alpha = true;
	}
	return alpha || dash;
}

/* RFC 7208 section 7.1: domain-spec = macro-string domain-end;
 * domain-end = ( "." toplabel [ "." ] ) / macro-expand */
static bool
record_domain_spec(const char *s, size_t n, const char **why)
{
	bool end_macro;
	size_t dot;

	if (n == 0) {
		*why = "empty domain-spec";
		return false;
	}
	if (spf_macro_check(s, n, SPF_MACRO_DOMAIN, &end_macro, why) != 0)
		return false;
	if (end_macro)
		return true;
	if (s[n - 1] == '.')
		n--;
	for (dot = n; dot > 0 && s[dot - 1] != '.'; dot--)
		;
	if (dot == 0 || !record_toplabel(s + dot, n - dot)) {
		*why = "domain-spec does not end in a valid top label";
		return false;
	}
	return true;
}

/* ip4-cidr-length = "/" ("0" / %x31-39 0*1DIGIT); ip6-cidr-length =
 * "/" ("0" / %x31-39 0*2DIGIT); values at most 32 / 128 (RFC 7208
 * section 5.6). s points past the '/'. */
static bool
record_cidr(const char *s, size_t n, unsigned max, unsigned *ret)
{
	unsigned v = 0;
	size_t i;

	if (n == 0 || n > 3 || (n > 1 && s[0] == '0'))
		return false;
	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (unsigned)(s[i] - '0');
	}
	if (v > max)
		return false;
	*ret = v;
	return true;
}

/* Length of the run of digits ending at s[n - 1]. */
static size_t
record_digits_back(const char *s, size_t n)
{
	size_t i = n;

	while (i > 0 && s[i - 1] >= '0' && s[i - 1] <= '9')
		i--;
	return n - i;
}

/* Cut dual-cidr-length = [ ip4-cidr-length ] [ "/" ip6-cidr-length ]
 * off the end of rest (what follows "a" or "mx"). @return false on a
 * bad length. */
static bool
record_dual_cidr(
    const char *rest, size_t *n, struct spf_term *t, const char **why)
{
	size_t d = record_digits_back(rest, *n);

	*why = "bad CIDR length";
	if (d > 0 && *n >= d + 2 && rest[*n - d - 1] == '/' &&
	    rest[*n - d - 2] == '/') {
		if (!record_cidr(rest + *n - d, d, 128, &t->cidr6))
			return false;
		*n -= d + 2;
		d = record_digits_back(rest, *n);
	}
	if (d > 0 && *n >= d + 1 && rest[*n - d - 1] == '/') {
		if (!record_cidr(rest + *n - d, d, 32, &t->cidr4))
			return false;
		*n -= d + 1;
	}
	return true;
}

/* ip4:/ip6: network and optional single CIDR length. */
static bool
record_ip(const char *rest, size_t n, struct spf_term *t, const char **why)
{
	char text[INET6_ADDRSTRLEN + 1];
	const char *slash = memchr(rest, '/', n);
	size_t alen = slash != NULL ? (size_t)(slash - rest) : n;
	bool v4 = t->mech == SPF_M_IP4;

	*why = v4 ? "bad IPv4 network" : "bad IPv6 network";
	if (n == 0 || rest[0] != ':' || alen < 2 || alen - 1 >= sizeof(text))
		return false;
	memcpy(text, rest + 1, alen - 1);
	text[alen - 1] = '\0';
	/* RFC 7208 section 5.6: ip4-network is a full dotted quad
	 * (inet_pton refuses short forms and leading zeros) */
	if (inet_pton(v4 ? AF_INET : AF_INET6, text, t->addr) != 1)
		return false;
	if (slash != NULL) {
		*why = "bad CIDR length";
		return record_cidr(slash + 1, n - alen - 1, v4 ? 32 : 128,
		    v4 ? &t->cidr4 : &t->cidr6);
	}
	return true;
}

/* The part after the mechanism name: ":" domain-spec and/or CIDR. */
static bool
record_mech_args(
    const char *rest, size_t n, struct spf_term *t, const char **why)
{
	switch (t->mech) {
	case SPF_M_ALL:
		*why = "\"all\" takes no argument";
		return n == 0;
	case SPF_M_IP4:
	case SPF_M_IP6:
		return record_ip(rest, n, t, why);
	case SPF_M_A:
	case SPF_M_MX:
		if (!record_dual_cidr(rest, &n, t, why))
			return false;
		if (n == 0)
			return true;
		break;
	case SPF_M_PTR:
		if (n == 0)
			return true;
		break;
	case SPF_M_INCLUDE:
	case SPF_M_EXISTS:
		*why = "domain-spec required";
		if (n == 0)
			return false;
		break;
	}
	*why = "unexpected text after the mechanism name";
	if (rest[0] != ':')
		return false;
	t->spec = rest + 1;
	t->spec_len = n - 1;
	return record_domain_spec(t->spec, t->spec_len, why);
}

static int
record_directive(const char *s, size_t n, struct spf_term *t, const char **why)
{
	size_t name, i;

	memset(t, 0, sizeof(*t));
	t->text = s;
	t->text_len = n;
	t->cidr4 = 32;
	t->cidr6 = 128;
	t->qualifier = AUTH_PASS;
	switch (s[0]) {
	case '+':
		s++, n--;
		break;
	case '-':
		t->qualifier = AUTH_FAIL, s++, n--;
		break;
	case '~':
		t->qualifier = AUTH_SOFTFAIL, s++, n--;
		break;
	case '?':
		t->qualifier = AUTH_NEUTRAL, s++, n--;
		break;
	}
	for (name = 0; name < n && record_alnum(s[name]); name++)
		;
	for (i = 0; i < sizeof(record_mechs) / sizeof(record_mechs[0]); i++)
		if (span_eq(s, name, record_mechs[i].name))
			break;
	if (i == sizeof(record_mechs) / sizeof(record_mechs[0])) {
		*why = "unknown mechanism";
		return -EINVAL;
	}
	t->mech = record_mechs[i].mech;
	return record_mech_args(s + name, n - name, t, why) ? 0 : -EINVAL;
}

/* RFC 7208 section 4.6.1: name = ALPHA *( ALPHA / DIGIT / "-" / "_" /
 * "." ) followed by "=". @return the name length, 0 if not a modifier. */
static size_t
record_modifier_name(const char *s, size_t n)
{
	size_t i;

	if (n == 0 || !isalpha((unsigned char)s[0]))
		return 0;
	for (i = 1; i < n; i++)
		if (!record_alnum(s[i]) && s[i] != '-' && s[i] != '_' &&
		    s[i] != '.')
			break;
	return i < n && s[i] == '=' ? i : 0;
}

/* A modifier: redirect and exp once each (RFC 7208 section 6), others
 * need a valid macro-string and are ignored. */
static int
record_modifier(struct spf_record *r, const char *s, size_t n, size_t name,
    const char **why)
{
	const char *v = s + name + 1;
	size_t vlen = n - name - 1;
	const char **slot = NULL;
	size_t *slot_len = NULL;

	if (name == 8 && strncasecmp(s, "redirect", 8) == 0) {
		slot = &r->redirect;
		slot_len = &r->redirect_len;
	} else if (name == 3 && strncasecmp(s, "exp", 3) == 0) {
		slot = &r->exp;
		slot_len = &r->exp_len;
	}
	if (slot == NULL)
		return spf_macro_check(v, vlen, SPF_MACRO_ANY, NULL, why) == 0
		           ? 0
		           : -EINVAL;
	if (*slot != NULL) {
		*why = "modifier given twice";
		return -EINVAL;
	}
	if (!record_domain_spec(v, vlen, why))
		return -EINVAL;
	*slot = v;
	*slot_len = vlen;
	return 0;
}

static int
record_term(struct spf_record *r, const char *s, size_t n, const char **why)
{
	size_t name = record_modifier_name(s, n), i;

	/* RFC 7208 section 3.1: records are 7-bit ASCII; section 4.6.1:
	 * terms are separated by SP only */
	for (i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x21 || (unsigned char)s[i] > 0x7e) {
			*why = "byte not allowed in a record";
			return -EINVAL;
		}
	if (name > 0)
		return record_modifier(r, s, n, name, why);
	if (s[0] == '=') {
		*why = "modifier without a name";
		return -EINVAL;
	}
	return record_directive(s, n, &r->terms[r->nterms++], why);
}

int
spf_record_parse(struct arena *a, const char *txt, size_t len,
    struct spf_record **ret_record, const char **ret_why)
{
	struct spf_record *r;
	size_t i, start, max = 1;
	const char *why = "syntax error";

	if (!spf_record_is_spf((const uint8_t *)txt, len)) {
		*ret_why = "not an SPF record (no \"v=spf1\")";
		return -EINVAL;
	}
	for (i = 6; i < len; i++)
		max += txt[i] == ' ';
	r = arena_zalloc(a, sizeof(*r));
	if (r == NULL ||
	    (r->terms = arena_alloc(a, max * sizeof(*r->terms))) == NULL)
		return -ENOMEM;
	for (i = 6; i < len;) {
		if (txt[i] == ' ') {
			i++;
			continue;
		}
		for (start = i; i < len && txt[i] != ' '; i++)
			;
		if (record_term(r, txt + start, i - start, &why) != 0) {
			*ret_why = record_why(a, why, txt + start, i - start);
			return -EINVAL;
		}
	}
	*ret_record = r;
	return 0;
}
