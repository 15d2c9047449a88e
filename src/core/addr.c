/*
 * addr.c -- RFC 5322 address lists and RFC 5321 reverse-paths, one
 * function per ABNF production.
 *
 * The parser is a cursor over the borrowed value. Productions that yield
 * text (local-part, domain, phrase) append it to one arena scratch area;
 * each output byte stands for at least one input byte it consumed, so the
 * scratch never needs more than the value's length plus the NULs of the
 * kept strings. A production that is tried and given up (a phrase that
 * turns out to be a local-part) rewinds both the cursor and the scratch.
 *
 * The [CFWS] the RFC writes around atoms, quoted strings and domains is
 * skipped by the composite productions (phrase, local-part, domain),
 * because a phrase needs to know where it was. Comments nest by counting,
 * not by recursion, so no input can exhaust the stack.
 */
#include <errno.h>
#include <iconv.h>
#include <string.h>
#include <strings.h>

#include "authmilter/addr.h"
#include "authmilter/b64.h"
#include "authmilter/bounds.h"
#include "authmilter/xalloc.h"

/* RFC 1035 section 2.3.4 with the final dot removed: 255 octets on the
 * wire are 253 characters of text. */
#define ADDR_DOMAIN_TEXT_MAX (BOUND_DOMAIN_LEN - 2)

struct addr_cur {
	const uint8_t *s; /* the value, borrowed */
	size_t len;
	size_t pos;
	uint8_t *out; /* scratch, arena-owned */
	size_t out_len;
	size_t out_cap;
	struct arena *arena;
	bool smtp;       /* RFC 5321 path: no CFWS, no folds */
	const char *why; /* last failure (static) */
	size_t why_off;
	size_t list_cap;
	addr_visit_fn *visit; /* addr_parse_from_each: instead of a list */
	void *visit_ctx;
};

static int
addr_fail(struct addr_cur *c, size_t off, const char *why)
{
	c->why = why;
	c->why_off = off;
	return -EBADMSG;
}

static int
addr_peek(const struct addr_cur *c)
{
	return c->pos < c->len ? c->s[c->pos] : -1;
}

static void
addr_out(struct addr_cur *c, uint8_t b)
{
	if (c->out_len >= c->out_cap)
		panic("addr: scratch overflow at %zu", c->pos);
	c->out[c->out_len++] = b;
}

static bool
addr_is_wsp(int b)
{
	return b == ' ' || b == '\t';
}

/* RFC 5322 §3.2.3: atext = ALPHA / DIGIT / "!#$%&'*+-/=?^_`{|}~";
 * RFC 6532 §3.2: atext =/ UTF8-non-ascii (any byte >= 0x80 here; the
 * domain is checked for real UTF-8 later). */
static bool
addr_is_atext(int b)
{
	if (b < 0)
		return false;
	if (b >= 0x80 || (b >= 'a' && b <= 'z') || (b >= 'A' && b <= 'Z') ||
	    (b >= '0' && b <= '9'))
		return true;
	return b != 0 && strchr("!#$%&'*+-/=?^_`{|}~", b) != NULL;
}

/* Bytes no production here takes: NUL, the C0 controls but HTAB, CR and
 * LF, and DEL. RFC 5322 §4.1's obs-NO-WS-CTL would allow some inside
 * quoted strings and comments; real mail does not need them and they
 * hide text from people. A CR must start a CRLF. An SMTP path has no
 * line breaks at all (RFC 5321 §4.1.2). */
static int
addr_check_bytes(struct addr_cur *c)
{
	size_t i;

	for (i = 0; i < c->len; i++) {
		uint8_t b = c->s[i];

		if (b == 0)
			return addr_fail(c, i, "NUL byte in address");
		if (b == '\r' || b == '\n') {
			if (c->smtp)
				return addr_fail(c, i, "line break in path");
			if (b == '\r' &&
			    (i + 1 == c->len || c->s[i + 1] != '\n'))
				return addr_fail(c, i, "CR without LF");
			continue;
		}
		if ((b < 0x20 && b != '\t') || b == 0x7f)
			return addr_fail(c, i, "control character in address");
	}
	return 0;
}

/* A line break inside FWS: CRLF, or a bare LF (how MTAs hand folded
 * fields to milters). It must be followed by WSP, or the field would have
 * ended there; one at the very end of the value is ignored. */
static int
addr_skip_line_break(struct addr_cur *c)
{
	size_t at = c->pos;

	if (c->s[c->pos] == '\r') {
		if (c->pos + 1 >= c->len || c->s[c->pos + 1] != '\n')
			return addr_fail(c, at, "CR without LF");
		c->pos++;
	}
	c->pos++;
	if (c->pos < c->len && !addr_is_wsp(c->s[c->pos]))
		return addr_fail(
		    c, at, "line break not followed by whitespace");
	return 0;
}

/* RFC 5322 §3.2.2: FWS = ([*WSP CRLF] 1*WSP) / obs-FWS;
 * §4.2: obs-FWS = 1*([CRLF] WSP). */
static int
addr_skip_fws(struct addr_cur *c)
{
	int b, r;

	while ((b = addr_peek(c)) >= 0) {
		if (addr_is_wsp(b)) {
			c->pos++;
		} else if (b == '\r' || b == '\n') {
			if ((r = addr_skip_line_break(c)) < 0)
				return r;
		} else {
			break;
		}
	}
	return 0;
}

/* RFC 5322 §3.2.2: comment = "(" *([FWS] ccontent) [FWS] ")";
 * ccontent = ctext / quoted-pair / comment. Nesting is counted. */
static int
addr_skip_comment(struct addr_cur *c)
{
	size_t open = c->pos, depth = 0;
	int b, r;

	do {
		if ((b = addr_peek(c)) < 0)
			return addr_fail(c, open, "unbalanced comment");
		if (b == '(') {
			depth++;
		} else if (b == ')') {
			depth--;
		} else if (b == '\\') {
			/* RFC 5322 §3.2.1: quoted-pair = "\" (VCHAR / WSP) */
			c->pos++;
			b = addr_peek(c);
			if (b < 0)
				return addr_fail(c, open, "unbalanced comment");
			if (b == '\r' || b == '\n')
				return addr_fail(
				    c, c->pos, "invalid quoted-pair");
		} else if (b == '\r' || b == '\n') {
			if ((r = addr_skip_line_break(c)) < 0)
				return r;
			continue;
		}
		c->pos++;
	} while (depth > 0);
	return 0;
}

/* RFC 5322 §3.2.2: CFWS = (1*([FWS] comment) [FWS]) / FWS.
 * RFC 5321 has no CFWS: a path skips nothing. */
static int
addr_skip_cfws(struct addr_cur *c)
{
	int r;

	if (c->smtp)
		return 0;
	for (;;) {
		if ((r = addr_skip_fws(c)) < 0)
			return r;
		if (addr_peek(c) != '(')
			return 0;
		if ((r = addr_skip_comment(c)) < 0)
			return r;
	}
}

/* RFC 5322 §3.2.3: atom = [CFWS] 1*atext [CFWS] (the CFWS is the
 * caller's). Appends the atext. */
static int
addr_parse_atom(struct addr_cur *c)
{
	size_t start = c->pos;

	while (addr_is_atext(addr_peek(c)))
		addr_out(c, c->s[c->pos++]);
	if (c->pos == start)
		return addr_fail(c, start, "expected a word");
	return 0;
}

/* RFC 5322 §3.2.4: quoted-string = [CFWS] DQUOTE *([FWS] qcontent) [FWS]
 * DQUOTE [CFWS]; qcontent = qtext / quoted-pair (RFC 6532 §3.2: qtext
 * takes UTF-8). Appends the content: quoted-pairs resolved, the CRLF of
 * a fold removed (§3.2.2), its WSP kept. */
static int
addr_parse_quoted_string(struct addr_cur *c)
{
	size_t open = c->pos;
	int b, r;

	c->pos++;
	for (;;) {
		if ((b = addr_peek(c)) < 0)
			return addr_fail(c, open, "unterminated quoted string");
		if (b == '"') {
			c->pos++;
			return 0;
		}
		if (b == '\r' || b == '\n') {
			if ((r = addr_skip_line_break(c)) < 0)
				return r;
			continue;
		}
		if (b == '\\') {
			c->pos++;
			if ((b = addr_peek(c)) < 0)
				return addr_fail(
				    c, open, "unterminated quoted string");
			if (b == '\r' || b == '\n')
				return addr_fail(
				    c, c->pos, "invalid quoted-pair");
		}
		addr_out(c, (uint8_t)b);
		c->pos++;
	}
}

/* Length of the UTF-8 sequence at p (RFC 3629 §4), 0 if ill-formed. */
static size_t
addr_utf8_len(const uint8_t *p, size_t n)
{
	uint8_t lo = 0x80, hi = 0xbf;
	size_t need, i;

	if (p[0] < 0xc2 || p[0] > 0xf4)
		return 0;
	need = p[0] < 0xe0 ? 1 : p[0] < 0xf0 ? 2 : 3;
	if (p[0] == 0xe0)
		lo = 0xa0;
	else if (p[0] == 0xed)
		hi = 0x9f;
	else if (p[0] == 0xf0)
		lo = 0x90;
	else if (p[0] == 0xf4)
		hi = 0x8f;
	if (need >= n)
		return 0;
	if (p[1] < lo || p[1] > hi)
		return 0;
	for (i = 2; i <= need; i++)
		if (p[i] < 0x80 || p[i] > 0xbf)
			return 0;
	return need + 1;
}

/* The domain a caller may use: labels of letters, digits, '-', '_' or
 * UTF-8 (RFC 6532 §3.2), none empty, ASCII labels at most 63 bytes
 * (RFC 1035 §2.3.4), at most 253 bytes in all once a trailing dot (an
 * absolute name) is removed. Lower-cases ASCII in place.
 * @return NULL, or why the domain is refused. */
static const char *
addr_check_domain(uint8_t *d, size_t *lenp)
{
	size_t len = *lenp, i = 0, label = 0, n;
	bool ascii = true;

	if (len > 0 && d[len - 1] == '.')
		len--;
	if (len == 0)
		return "empty domain";
	if (len > ADDR_DOMAIN_TEXT_MAX)
		return "invalid domain: longer than 253 bytes";
	while (i <= len) {
		if (i == len || d[i] == '.') {
			if (label == 0)
				return "invalid domain: empty label";
			if (ascii && label > BOUND_LABEL_LEN)
				return "invalid domain: label longer than 63";
			label = 0;
			ascii = true;
			i++;
			continue;
		}
		if (d[i] >= 0x80) {
			if ((n = addr_utf8_len(d + i, len - i)) == 0)
				return "invalid domain: bad UTF-8";
			i += n;
			label += n;
			ascii = false;
			continue;
		}
		if (d[i] >= 'A' && d[i] <= 'Z')
			d[i] += 'a' - 'A';
		else if (!((d[i] >= 'a' && d[i] <= 'z') ||
		             (d[i] >= '0' && d[i] <= '9') || d[i] == '-' ||
		             d[i] == '_'))
			return "invalid character in domain";
		i++;
		label++;
	}
	d[len] = '\0';
	*lenp = len;
	return NULL;
}

/* RFC 5322 §3.2.3: dot-atom-text = 1*atext *("." 1*atext); §4.4:
 * obs-domain = atom *("." atom), so CFWS may stand around the dots. Dots
 * are taken wherever they are (a trailing one is an absolute name;
 * addr_check_domain refuses empty labels with a clear reason). Sets
 * *ret_end past the last atom or dot. */
static int
addr_parse_dot_atom(struct addr_cur *c, size_t *ret_end)
{
	bool after_atom = false;
	int b, r;

	for (;;) {
		b = addr_peek(c);
		if (b == '.') {
			addr_out(c, '.');
			c->pos++;
			after_atom = false;
		} else if (addr_is_atext(b) && !after_atom) {
			if ((r = addr_parse_atom(c)) < 0)
				return r;
			after_atom = true;
		} else {
			return 0;
		}
		*ret_end = c->pos;
		if ((r = addr_skip_cfws(c)) < 0)
			return r;
	}
}

/* RFC 5322 §3.4.1: domain-literal = [CFWS] "[" *([FWS] dtext) [FWS] "]"
 * [CFWS]; dtext = %d33-90 / %d94-126 / obs-dtext (§4.4: quoted-pair);
 * RFC 6532 §3.2 adds UTF-8. Appends "[dtext...]" without the FWS,
 * ASCII lower-cased. */
static int
addr_parse_domain_literal(struct addr_cur *c)
{
	size_t open = c->pos, first;
	int b, r;

	addr_out(c, '[');
	c->pos++;
	first = c->out_len;
	for (;;) {
		if (!c->smtp && (r = addr_skip_fws(c)) < 0)
			return r;
		if ((b = addr_peek(c)) < 0)
			return addr_fail(
			    c, open, "unterminated domain literal");
		if (b == ']')
			break;
		if (b == '\\') {
			c->pos++;
			if ((b = addr_peek(c)) < 0 || b == '\r' || b == '\n')
				return addr_fail(
				    c, open, "unterminated domain literal");
		} else if (b == '[' || addr_is_wsp(b)) {
			return addr_fail(
			    c, c->pos, "invalid character in domain literal");
		}
		/* lower-cased like every domain: "[IPv6:...]" compares
		 * equal however it was written */
		if (b >= 'A' && b <= 'Z')
			b += 'a' - 'A';
		addr_out(c, (uint8_t)b);
		c->pos++;
	}
	if (c->out_len == first)
		return addr_fail(c, open, "empty domain literal");
	addr_out(c, ']');
	c->pos++;
	return 0;
}

/* RFC 5322 §3.4.1: domain = dot-atom / domain-literal / obs-domain.
 * Fills a->domain (checked, lower-cased) and sets *ret_end past its last
 * byte, before the trailing CFWS it consumes. */
static int
addr_parse_domain(struct addr_cur *c, struct addr *a, size_t *ret_end)
{
	size_t start, first, len;
	const char *why;
	int b, r;

	if ((r = addr_skip_cfws(c)) < 0)
		return r;
	start = c->pos;
	first = c->out_len;
	b = addr_peek(c);
	a->domain_literal = b == '[';
	if (b == '[') {
		if ((r = addr_parse_domain_literal(c)) < 0)
			return r;
		*ret_end = c->pos;
		if ((r = addr_skip_cfws(c)) < 0)
			return r;
	} else if (addr_is_atext(b) || b == '.') {
		if ((r = addr_parse_dot_atom(c, ret_end)) < 0)
			return r;
	} else if (b < 0 || b == '>' || b == ',' || b == ';') {
		return addr_fail(c, start, "empty domain");
	} else {
		return addr_fail(c, start, "invalid character in domain");
	}
	len = c->out_len - first;
	if (a->domain_literal)
		why = len > ADDR_DOMAIN_TEXT_MAX
		          ? "invalid domain: longer than 253 bytes"
		          : NULL;
	else
		why = addr_check_domain(c->out + first, &len);
	if (why != NULL)
		return addr_fail(c, start, why);
	c->out_len = first + len;
	addr_out(c, '\0');
	a->domain = (const char *)c->out + first;
	a->domain_len = len;
	return 0;
}

/* RFC 5322 §3.4.1: local-part = dot-atom / quoted-string /
 * obs-local-part; §4.4: obs-local-part = word *("." word). Dots are taken
 * wherever they stand ("a..b", ".a", "a."): mobile carriers handed such
 * local-parts out, and only the domain is checked by anything here. May
 * be empty (the caller decides). Sets *ret_start to its first byte. */
static int
addr_parse_local_part(struct addr_cur *c, struct addr *a, size_t *ret_start)
{
	size_t first = c->out_len;
	bool after_word = false;
	int b, r;

	if ((r = addr_skip_cfws(c)) < 0)
		return r;
	*ret_start = c->pos;
	a->local_quoted = false;
	for (;;) {
		b = addr_peek(c);
		if (b == '.') {
			addr_out(c, '.');
			c->pos++;
			after_word = false;
		} else if (b == '"' && !after_word) {
			if ((r = addr_parse_quoted_string(c)) < 0)
				return r;
			a->local_quoted = after_word = true;
		} else if (addr_is_atext(b) && !after_word) {
			if ((r = addr_parse_atom(c)) < 0)
				return r;
			after_word = true;
		} else {
			break;
		}
		if ((r = addr_skip_cfws(c)) < 0)
			return r;
	}
	a->local_len = c->out_len - first;
	addr_out(c, '\0');
	a->local = (const char *)c->out + first;
	return 0;
}

static bool addr_has_encoded_word(const uint8_t *p, size_t n);

/* RFC 5322 §3.4.1: addr-spec = local-part "@" domain */
static int
addr_parse_addr_spec(struct addr_cur *c, struct addr *a)
{
	size_t start, end;
	int r;

	if ((r = addr_parse_local_part(c, a, &start)) < 0)
		return r;
	if (addr_peek(c) != '@') {
		if (a->local_len == 0 && !a->local_quoted)
			return addr_fail(c, c->pos, "expected an address");
		return addr_fail(c, c->pos, "missing '@' in address");
	}
	if (a->local_len == 0 && !a->local_quoted)
		return addr_fail(c, c->pos, "empty local part");
	/* RFC 2047 section 5: an encoded-word MUST NOT appear in any
	 * portion of an addr-spec; readers that decode one anyway show
	 * another address than the one parsed here */
	if (addr_has_encoded_word(c->s + start, c->pos - start))
		return addr_fail(c, start, "encoded word in an address");
	c->pos++;
	if ((r = addr_parse_domain(c, a, &end)) < 0)
		return r;
	if (addr_peek(c) == '@')
		return addr_fail(c, c->pos, "more than one '@' in address");
	a->spec = arena_memdup(c->arena, c->s + start, end - start);
	if (a->spec == NULL)
		return -ENOMEM;
	a->spec_len = end - start;
	return 0;
}

/* RFC 5322 §4.4: obs-route = obs-domain-list ":"; obs-domain-list =
 * *(CFWS / ",") "@" domain *("," [CFWS] ["@" domain]). RFC 5321 §4.1.2's
 * A-d-l is the same without CFWS. The route is checked and dropped
 * (RFC 5321 §C: it is to be ignored). */
static int
addr_parse_obs_route(struct addr_cur *c)
{
	size_t mark = c->out_len, end;
	struct addr hop;
	int r;

	for (;;) {
		if ((r = addr_skip_cfws(c)) < 0)
			return r;
		if (addr_peek(c) != ',')
			break;
		c->pos++;
	}
	if (addr_peek(c) != '@')
		return addr_fail(c, c->pos, "invalid source route");
	for (;;) {
		if (addr_peek(c) == '@') {
			c->pos++;
			if ((r = addr_parse_domain(c, &hop, &end)) < 0)
				return r;
		}
		if (addr_peek(c) == ':')
			break;
		if (addr_peek(c) != ',')
			return addr_fail(c, c->pos, "invalid source route");
		c->pos++;
		if ((r = addr_skip_cfws(c)) < 0)
			return r;
	}
	c->pos++;
	c->out_len = mark;
	return 0;
}

/* RFC 5322 §3.4: angle-addr = [CFWS] "<" addr-spec ">" [CFWS] /
 * obs-angle-addr; §4.4: obs-angle-addr = [CFWS] "<" obs-route addr-spec
 * ">" [CFWS]. The cursor is on "<". */
static int
addr_parse_angle_addr(struct addr_cur *c, struct addr *a)
{
	size_t open = c->pos;
	int b, r;

	c->pos++;
	if ((r = addr_skip_cfws(c)) < 0)
		return r;
	if ((b = addr_peek(c)) == '@' || b == ',') {
		if ((r = addr_parse_obs_route(c)) < 0)
			return r;
	}
	if (addr_peek(c) == '>')
		return addr_fail(c, open, "empty address in angle brackets");
	if ((r = addr_parse_addr_spec(c, a)) < 0)
		return r;
	if ((b = addr_peek(c)) < 0)
		return addr_fail(c, open, "unterminated angle address");
	if (b != '>')
		return addr_fail(c, c->pos, "expected '>' after address");
	c->pos++;
	return addr_skip_cfws(c);
}

/* RFC 5322 §3.2.5: phrase = 1*word / obs-phrase; §4.1: obs-phrase = word
 * *(word / "." / CFWS); word = atom / quoted-string. Appends the words,
 * with one space where CFWS stood between them, and consumes the trailing
 * CFWS. */
static int
addr_parse_phrase(struct addr_cur *c)
{
	size_t first, before;
	bool space = false;
	int b, r;

	if ((r = addr_skip_cfws(c)) < 0)
		return r;
	b = addr_peek(c);
	if (b != '"' && !addr_is_atext(b))
		return addr_fail(c, c->pos, "expected a word");
	first = c->out_len;
	for (;;) {
		b = addr_peek(c);
		if (b != '"' && b != '.' && !addr_is_atext(b))
			return 0;
		if (space && c->out_len > first)
			addr_out(c, ' ');
		if (b == '"')
			r = addr_parse_quoted_string(c);
		else if (b == '.')
			addr_out(c, (uint8_t)c->s[c->pos++]);
		else
			r = addr_parse_atom(c);
		if (r < 0)
			return r;
		before = c->pos;
		if ((r = addr_skip_cfws(c)) < 0)
			return r;
		space = c->pos > before;
	}
}

/* RFC 2047 §2: encoded-word = "=?" charset "?" encoding "?" encoded-text
 * "?="; charset and encoded-text are printable ASCII without "?" or
 * space (§2, §4; RFC 2231 §5's "*language" rides along in the charset).
 * Only a whole whitespace-separated token counts (§5). */
struct addr_ew {
	const uint8_t *charset; /* up to '?' or '*' (RFC 2231 language) */
	size_t charset_len;
	const uint8_t *text;
	size_t text_len;
	size_t len; /* of the whole encoded word */
	bool base64;
};

static size_t
addr_ew_span(const uint8_t *p, size_t i, size_t n)
{
	while (i < n && p[i] > ' ' && p[i] < 0x7f && p[i] != '?')
		i++;
	return i;
}

/* token: the encoded word must end at WSP or the end (RFC 2047 section
 * 5, for display names); otherwise it may stand anywhere, as lenient
 * readers decode it. */
static bool
addr_match_encoded_word(
    const uint8_t *p, size_t n, struct addr_ew *ew, bool token)
{
	size_t i, j;

	if (n < 8 || p[0] != '=' || p[1] != '?')
		return false;
	i = addr_ew_span(p, 2, n);
	if (i == 2 || i + 3 > n || p[i] != '?' || p[i + 2] != '?')
		return false;
	ew->charset = p + 2;
	for (j = 2; j < i && p[j] != '*'; j++)
		;
	ew->charset_len = j - 2;
	if (p[i + 1] == 'B' || p[i + 1] == 'b')
		ew->base64 = true;
	else if (p[i + 1] == 'Q' || p[i + 1] == 'q')
		ew->base64 = false;
	else
		return false;
	j = addr_ew_span(p, i + 3, n);
	if (j + 2 > n || p[j] != '?' || p[j + 1] != '=')
		return false;
	if (token && j + 2 < n && !addr_is_wsp(p[j + 2]))
		return false;
	ew->text = p + i + 3;
	ew->text_len = j - (i + 3);
	ew->len = j + 2;
	return true;
}

/* Whether an encoded word stands anywhere in p[0..n). */
static bool
addr_has_encoded_word(const uint8_t *p, size_t n)
{
	struct addr_ew ew;
	const uint8_t *q;

	while (n >= 8 && (q = memmem(p, n, "=?", 2)) != NULL) {
		n -= (size_t)(q - p);
		p = q;
		if (addr_match_encoded_word(p, n, &ew, false))
			return true;
		p++;
		n--;
	}
	return false;
}

static int
addr_hex(uint8_t b)
{
	if (b >= '0' && b <= '9')
		return b - '0';
	if (b >= 'A' && b <= 'F')
		return b - 'A' + 10;
	if (b >= 'a' && b <= 'f')
		return b - 'a' + 10;
	return -1;
}

/* RFC 2047 §4.2: "_" is a space, "=" 2HEX is an octet, any other
 * printable character stands for itself. @return bytes written, or -1 if
 * the text is not Q-encoded (nothing useful was written then). */
static int
addr_decode_q(const struct addr_ew *ew, uint8_t *out)
{
	size_t i, w = 0;
	int hi, lo;

	for (i = 0; i < ew->text_len; i++) {
		uint8_t b = ew->text[i];

		if (b == '_') {
			b = ' ';
		} else if (b == '=') {
			if (i + 2 >= ew->text_len)
				return -1;
			hi = addr_hex(ew->text[i + 1]);
			lo = addr_hex(ew->text[i + 2]);
			if (hi < 0 || lo < 0)
				return -1;
			b = (uint8_t)(hi << 4 | lo);
			i += 2;
		}
		out[w++] = b;
	}
	return (int)w;
}

/* RFC 2047 §4.1: base64 (RFC 2045 §6.8); missing final padding is
 * supplied. @return bytes written, or -1 if not base64. */
static int
addr_decode_b(const struct addr_ew *ew, uint8_t *out)
{
	size_t n;

	/* the bytes are fewer than the characters they replace */
	if (b64_decode((const char *)ew->text, ew->text_len, B64_PAD_OPTIONAL,
	        out, ew->text_len, &n) != 0)
		return -1;
	return (int)n;
}

static int
addr_decode_encoded_word(const struct addr_ew *ew, uint8_t *out)
{
	return ew->base64 ? addr_decode_b(ew, out) : addr_decode_q(ew, out);
}

/* RFC 2047 §6.2: the encoded words of a display name are decoded (into
 * bytes; the charset is not converted) and the whitespace between two
 * adjacent encoded words is dropped; §6.3: one that does not decode is
 * shown as written. Quoted strings are decoded too, as mail readers do,
 * because what a reader shows is what the display name is for. At most
 * BOUND_ENCODED_WORDS are decoded. t[0..n) is the phrase's text. */
static int
addr_decode_display_name(
    struct addr_cur *c, const uint8_t *t, size_t n, struct addr *a)
{
	size_t i = 0, w = 0, ws_at = 0, words = 0;
	bool prev_ew = false, ws = false;
	struct addr_ew ew;
	uint8_t *out;
	int k;

	a->display = (const char *)t;
	a->display_len = n;
	if (n < 8 || memmem(t, n, "=?", 2) == NULL)
		return 0;
	if ((out = arena_alloc(c->arena, n + 1)) == NULL)
		return -ENOMEM;
	while (i < n) {
		if (addr_is_wsp(t[i])) {
			if (!ws)
				ws_at = w;
			ws = true;
			out[w++] = t[i++];
			continue;
		}
		if (words < BOUND_ENCODED_WORDS &&
		    addr_match_encoded_word(t + i, n - i, &ew, true)) {
			if ((k = addr_decode_encoded_word(&ew, out + w)) ==
			    -ENOMEM)
				return k;
			if (k >= 0) {
				if (prev_ew && ws) {
					memmove(
					    out + ws_at, out + w, (size_t)k);
					w = ws_at;
				}
				w += (size_t)k;
				i += ew.len;
				words++;
				prev_ew = true;
				ws = false;
				continue;
			}
		}
		while (i < n && !addr_is_wsp(t[i]))
			out[w++] = t[i++];
		prev_ew = ws = false;
	}
	out[w] = '\0';
	a->display = (const char *)out;
	a->display_len = w;
	return 0;
}

/* RFC 5322 §3.4: display-name = phrase (decoded: see above) */
static int
addr_parse_display_name(struct addr_cur *c, struct addr *a)
{
	size_t first = c->out_len, n;
	int r;

	if ((r = addr_parse_phrase(c)) < 0)
		return r;
	n = c->out_len - first;
	addr_out(c, '\0');
	return addr_decode_display_name(c, c->out + first, n, a);
}

/* RFC 5322 §3.4: name-addr = [display-name] angle-addr */
static int
addr_parse_name_addr(struct addr_cur *c, struct addr *a)
{
	int r;

	if ((r = addr_skip_cfws(c)) < 0)
		return r;
	if (addr_peek(c) != '<' && (r = addr_parse_display_name(c, a)) < 0)
		return r;
	if (addr_peek(c) != '<')
		return addr_fail(c, c->pos, "expected '<' after display name");
	return addr_parse_angle_addr(c, a);
}

/* RFC 5322 §3.4: mailbox = name-addr / addr-spec. What begins like a
 * phrase is a name-addr when "<" follows the phrase; otherwise it is read
 * again as an addr-spec ("a.b@c" and "\"a b\"@c" begin like phrases). */
static int
addr_parse_mailbox(struct addr_cur *c, struct addr *a)
{
	size_t start = c->pos, mark = c->out_len;
	bool name;
	int r;

	memset(a, 0, sizeof(*a));
	a->display = "";
	if ((r = addr_skip_cfws(c)) < 0)
		return r;
	name = addr_peek(c) == '<' ||
	       (addr_parse_phrase(c) == 0 && addr_peek(c) == '<');
	c->pos = start;
	c->out_len = mark;
	if (name)
		return addr_parse_name_addr(c, a);
	return addr_parse_addr_spec(c, a);
}

static int
addr_list_add(
    struct addr_cur *c, struct addr_list *l, const struct addr *a, size_t at)
{
	struct addr *v;
	size_t cap;

	if (c->visit != NULL) {
		l->count++;
		return c->visit(c->visit_ctx, a);
	}
	if (l->count == BOUND_FROM_ADDRESSES)
		return addr_fail(c, at, "too many addresses");
	if (l->count == c->list_cap) {
		cap = c->list_cap == 0 ? 4 : c->list_cap * 2;
		if (cap > BOUND_FROM_ADDRESSES)
			cap = BOUND_FROM_ADDRESSES;
		if ((v = arena_alloc(c->arena, cap * sizeof(*v))) == NULL)
			return -ENOMEM;
		if (l->count > 0)
			memcpy(v, l->addrs, l->count * sizeof(*v));
		l->addrs = v;
		c->list_cap = cap;
	}
	l->addrs[l->count++] = *a;
	return 0;
}

/* The element loop of address-list and group-list: skips CFWS and the
 * empty elements the obsolete forms allow (RFC 5322 §4.4: "a@b,,c@d").
 * *need_sep says an element was just read, so a comma must come first.
 * @return 1 when an element starts here; 0 at the end or at stop;
 * -EBADMSG when two elements have no comma between them. */
static int
addr_next_element(
    struct addr_cur *c, bool *need_sep, int stop, const char *garbage)
{
	int b, r;

	for (;;) {
		if ((r = addr_skip_cfws(c)) < 0)
			return r;
		if ((b = addr_peek(c)) < 0 || b == stop)
			return 0;
		if (b != ',')
			break;
		c->pos++;
		*need_sep = false;
	}
	if (*need_sep)
		return addr_fail(c, c->pos, garbage);
	*need_sep = true;
	return 1;
}

/* RFC 5322 §3.4: group = display-name ":" [group-list] ";" [CFWS];
 * group-list = mailbox-list / CFWS / obs-group-list. The members are
 * addresses; the group's name is not. */
static int
addr_parse_group(struct addr_cur *c, struct addr_list *l)
{
	size_t mark = c->out_len, open, at;
	bool need_sep = false;
	struct addr a;
	int r;

	if ((r = addr_parse_phrase(c)) < 0)
		return r;
	c->out_len = mark;
	open = c->pos++;
	while ((r = addr_next_element(c, &need_sep, ';',
	            "trailing garbage after address in group")) > 0) {
		at = c->pos;
		if ((r = addr_parse_mailbox(c, &a)) < 0 ||
		    (r = addr_list_add(c, l, &a, at)) < 0)
			return r;
	}
	if (r < 0)
		return r;
	if (addr_peek(c) < 0)
		return addr_fail(c, open, "unterminated group (no ';')");
	c->pos++;
	return addr_skip_cfws(c);
}

/* RFC 5322 §3.4: address = mailbox / group (RFC 6854 §2.1 lets From hold
 * a group). A phrase followed by ":" starts a group. */
static int
addr_parse_address(struct addr_cur *c, struct addr_list *l)
{
	size_t start = c->pos, mark = c->out_len;
	struct addr a;
	bool group;
	int r;

	group = addr_parse_phrase(c) == 0 && addr_peek(c) == ':';
	c->pos = start;
	c->out_len = mark;
	if (group)
		return addr_parse_group(c, l);
	if ((r = addr_parse_mailbox(c, &a)) < 0)
		return r;
	return addr_list_add(c, l, &a, start);
}

/* RFC 5322 §3.4: address-list = (address *("," address)) / obs-addr-list;
 * §4.4: obs-addr-list = *([CFWS] ",") address *("," [address / CFWS]).
 * Two addresses with no comma between them are an error, never one of
 * the two. */
static int
addr_parse_address_list(struct addr_cur *c, struct addr_list *l)
{
	bool need_sep = false;
	int r;

	while ((r = addr_next_element(
	            c, &need_sep, -1, "trailing garbage after address")) > 0) {
		if ((r = addr_parse_address(c, l)) < 0)
			return r;
	}
	if (r < 0)
		return r;
	if (l->count == 0)
		return addr_fail(c, 0, "no address found");
	return 0;
}

/* RFC 5321 §4.1.2: Reverse-path = Path / "<>"; Path = "<" [ A-d-l ":" ]
 * Mailbox ">"; Mailbox = Local-part "@" ( Domain / address-literal ).
 * The brackets may be missing (some MTAs hand the bare mailbox). */
static int
addr_parse_reverse_path(struct addr_cur *c, struct addr_path *p)
{
	int r;

	while (addr_is_wsp(addr_peek(c)))
		c->pos++;
	memset(p, 0, sizeof(*p));
	p->mailbox.display = "";
	if (addr_peek(c) < 0)
		return addr_fail(c, c->pos, "no address found");
	if (addr_peek(c) == '<' && c->pos + 1 < c->len &&
	    c->s[c->pos + 1] == '>') {
		p->null_sender = true;
		p->mailbox.local = p->mailbox.domain = p->mailbox.spec = "";
		c->pos += 2;
	} else if (addr_peek(c) == '<') {
		if ((r = addr_parse_angle_addr(c, &p->mailbox)) < 0)
			return r;
	} else if ((r = addr_parse_addr_spec(c, &p->mailbox)) < 0) {
		return r;
	}
	while (addr_is_wsp(addr_peek(c)))
		c->pos++;
	if (addr_peek(c) >= 0)
		return addr_fail(c, c->pos, "trailing garbage after address");
	return 0;
}

/* ---- what a reader may be shown ---- */

/* Open iconv descriptors by charset, for one rendering. */
#define ADDR_ICONV_CACHE 4
struct addr_iconv {
	char name[64];
	iconv_t cd;
};

struct addr_render {
	struct arena *arena;
	uint8_t *out;
	size_t len, cap;
	struct addr_iconv cache[ADDR_ICONV_CACHE];
	size_t next; /* cache slot to reuse */
};

static void
addr_render_out(struct addr_render *r, const uint8_t *p, size_t n)
{
	if (n > r->cap - r->len)
		panic("addr: rendering overflow");
	memcpy(r->out + r->len, p, n);
	r->len += n;
}

/* The descriptor converting charset (ew) to UTF-8, or NULL when there is
 * nothing to convert (UTF-8, US-ASCII) or iconv does not know it. */
static iconv_t
addr_render_cd(struct addr_render *r, const struct addr_ew *ew)
{
	struct addr_iconv *e;
	char name[sizeof(r->cache[0].name)];
	size_t i;

	if (ew->charset_len == 0 || ew->charset_len >= sizeof(name))
		return NULL;
	memcpy(name, ew->charset, ew->charset_len);
	name[ew->charset_len] = '\0';
	if (strcasecmp(name, "utf-8") == 0 || strcasecmp(name, "us-ascii") == 0)
		return NULL;
	for (i = 0; i < ADDR_ICONV_CACHE; i++)
		if (r->cache[i].cd != NULL &&
		    strcasecmp(r->cache[i].name, name) == 0)
			return r->cache[i].cd;
	e = &r->cache[r->next];
	r->next = (r->next + 1) % ADDR_ICONV_CACHE;
	if (e->cd != NULL)
		iconv_close(e->cd);
	e->cd = iconv_open("UTF-8", name);
	if (e->cd == (iconv_t)-1) {
		e->cd = NULL;
		return NULL;
	}
	memcpy(e->name, name, sizeof(name));
	return e->cd;
}

/* Append n decoded bytes converted from the word's charset to UTF-8; a
 * byte the charset does not have is skipped, as readers show a
 * replacement character there and go on. */
static void
addr_render_convert(
    struct addr_render *r, const struct addr_ew *ew, uint8_t *in, size_t n)
{
	iconv_t cd = addr_render_cd(r, ew);
	char *ip = (char *)in, *op;
	size_t il = n, ol;

	if (cd == NULL) {
		addr_render_out(r, in, n);
		return;
	}
	iconv(cd, NULL, NULL, NULL, NULL);
	while (il > 0) {
		op = (char *)r->out + r->len;
		ol = r->cap - r->len;
		if (iconv(cd, &ip, &il, &op, &ol) != (size_t)-1) {
			r->len = r->cap - ol;
			break;
		}
		r->len = r->cap - ol;
		if (errno == E2BIG)
			return; /* cannot happen: see addr_render */
		ip++;           /* EILSEQ, EINVAL: skip the byte */
		il--;
	}
	op = (char *)r->out + r->len;
	ol = r->cap - r->len;
	iconv(cd, NULL, NULL, &op, &ol);
	r->len = r->cap - ol;
}

/* A reader's view of a header value: every encoded word decoded
 * wherever it stands (readers are lenient about RFC 2047 section 5), its
 * charset converted to UTF-8 where iconv knows it, the whitespace
 * between two adjacent encoded words dropped (section 6.2), and the
 * backslash of each quoted-pair dropped. The output fits in 4 bytes per
 * input byte: a decoded word is shorter than the word, and UTF-8 takes
 * at most 4 bytes for the character each input byte starts. */
static int
addr_render(struct addr_render *r, const uint8_t *p, size_t n)
{
	size_t i = 0, ws_at = 0;
	bool prev_ew = false, ws = false;
	struct addr_ew ew;
	uint8_t *dec;
	int k;

	r->cap = 4 * n + 16;
	if (r->cap < n || (r->out = arena_alloc(r->arena, r->cap)) == NULL)
		return -ENOMEM;
	while (i < n) {
		if (p[i] == '=' &&
		    addr_match_encoded_word(p + i, n - i, &ew, false)) {
			if ((dec = arena_alloc(r->arena, ew.text_len + 4)) ==
			    NULL)
				return -ENOMEM;
			k = addr_decode_encoded_word(&ew, dec);
			if (k >= 0) {
				if (prev_ew && ws)
					r->len = ws_at;
				addr_render_convert(r, &ew, dec, (size_t)k);
				i += ew.len;
				prev_ew = true;
				ws = false;
				continue;
			}
		}
		if (addr_is_wsp(p[i]) || p[i] == '\r' || p[i] == '\n') {
			if (!ws)
				ws_at = r->len;
			ws = true;
			addr_render_out(r, p + i++, 1);
			continue;
		}
		if (p[i] == '\\' && i + 1 < n)
			i++;
		addr_render_out(r, p + i++, 1);
		prev_ew = ws = false;
	}
	return 0;
}

/* The length of an at-sign a reader takes for one at p: "@", or the
 * look-alikes U+FF20 FULLWIDTH and U+FE6B SMALL COMMERCIAL AT; 0. */
static size_t
addr_at_sign(const uint8_t *p, size_t n)
{
	if (n >= 1 && p[0] == '@')
		return 1;
	if (n >= 3 && p[0] == 0xef &&
	    ((p[1] == 0xbc && p[2] == 0xa0) || (p[1] == 0xb9 && p[2] == 0xab)))
		return 3;
	return 0;
}

static bool
addr_is_domain_byte(const uint8_t *p, size_t n)
{
	uint8_t b = p[0];

	if (b >= 0x80)
		return addr_at_sign(p, n) == 0;
	return (b >= 'a' && b <= 'z') || (b >= 'A' && b <= 'Z') ||
	       (b >= '0' && b <= '9') || b == '-' || b == '_' || b == '.';
}

/* Hand cand[0..n) to fn without the dots and hyphens at its ends, when
 * it can be a domain of more than one label (a dot, or non-ASCII text
 * that IDNA may map to one). */
static int
addr_emit_one(uint8_t *cand, size_t n, addr_domain_fn *fn, void *ctx)
{
	size_t b = 0, i;
	bool ascii = true;

	while (b < n && (cand[b] == '.' || cand[b] == '-'))
		b++;
	while (n > b && (cand[n - 1] == '.' || cand[n - 1] == '-'))
		n--;
	for (i = b; i < n; i++)
		ascii = ascii && cand[i] < 0x80;
	if (n == b || (ascii && memchr(cand + b, '.', n - b) == NULL))
		return 0;
	cand[n] = '\0';
	return fn(ctx, (const char *)cand + b, n - b);
}

/* An empty label ends a name: a reader of "ceo@bank.example..x.y" sees
 * bank.example, then something else. Each part of src[0..n) between
 * ".." is given on its own. */
static int
addr_emit(const uint8_t *src, size_t n, addr_domain_fn *fn, void *ctx)
{
	uint8_t buf[4 * BOUND_DOMAIN_LEN + 1], *cand = buf, *dd;
	size_t part;
	int r;

	if (n >= sizeof(buf))
		return 0;
	memcpy(buf, src, n);
	while ((dd = memmem(cand, n, "..", 2)) != NULL) {
		part = (size_t)(dd - cand);
		if ((r = addr_emit_one(cand, part, fn, ctx)) < 0)
			return r;
		cand += part + 1;
		n -= part + 1;
	}
	return addr_emit_one(cand, n, fn, ctx);
}

/* Every at-sign in p[0..n) and the run of domain bytes after it (after
 * any whitespace). A run with non-ASCII bytes is also tried cut before
 * the first of them ("bank.example" in "ceo@bank.example’s"). */
static int
addr_scan(const uint8_t *p, size_t n, addr_domain_fn *fn, void *ctx)
{
	uint8_t cand[4 * BOUND_DOMAIN_LEN + 1];
	size_t i, j, k, len, ascii_len;
	bool ascii;
	int r;

	for (i = 0; i < n; i++) {
		if ((k = addr_at_sign(p + i, n - i)) == 0)
			continue;
		for (j = i + k; j < n && (addr_is_wsp(p[j]) || p[j] == '\r' ||
		                             p[j] == '\n');
		     j++)
			;
		len = 0;
		ascii = true;
		ascii_len = 0;
		for (; j < n && addr_is_domain_byte(p + j, n - j); j++) {
			if (p[j] >= 0x80 && ascii) {
				ascii = false;
				ascii_len = len;
			}
			if (len < sizeof(cand) - 1)
				cand[len] = p[j];
			len++;
		}
		i = j - 1;
		if (len == 0 || len >= sizeof(cand))
			continue; /* longer than any domain */
		if (!ascii && (r = addr_emit(cand, len, fn, ctx)) < 0)
			return r;
		if ((r = addr_emit(cand, ascii ? len : ascii_len, fn, ctx)) < 0)
			return r;
	}
	return 0;
}

static int
addr_cur_init(struct addr_cur *c, struct arena *a, const char *value,
    size_t len, bool smtp)
{
	memset(c, 0, sizeof(*c));
	c->s = (const uint8_t *)value;
	c->len = len;
	c->arena = a;
	c->smtp = smtp;
	/* every kept output byte stands for an input byte; each address
	 * adds at most three NULs (local, domain, display name) and takes
	 * at least three input bytes ("a@b"), so twice the input holds any
	 * number of addresses */
	c->out_cap = 2 * len + 64;
	if (c->out_cap < len || (c->out = arena_alloc(a, c->out_cap)) == NULL)
		return -ENOMEM;
	return addr_check_bytes(c);
}

static int
addr_finish(const struct addr_cur *c, int r, struct addr_error *err)
{
	if (r == -EBADMSG && err != NULL) {
		err->why = c->why;
		err->offset = c->why_off;
	}
	return r;
}

int
addr_parse_from(struct arena *a, const char *value, size_t len,
    struct addr_list *ret_list, struct addr_error *err)
{
	struct addr_list l = {NULL, 0};
	struct addr_cur c;
	int r;

	if ((r = addr_cur_init(&c, a, value, len, false)) == 0)
		r = addr_parse_address_list(&c, &l);
	if (r == 0)
		*ret_list = l;
	return addr_finish(&c, r, err);
}

int
addr_parse_from_each(struct arena *a, const char *value, size_t len,
    addr_visit_fn *fn, void *ctx, struct addr_error *err)
{
	struct addr_list l = {NULL, 0};
	struct addr_cur c;
	int r;

	if ((r = addr_cur_init(&c, a, value, len, false)) == 0) {
		c.visit = fn;
		c.visit_ctx = ctx;
		r = addr_parse_address_list(&c, &l);
	}
	return addr_finish(&c, r, err);
}

int
addr_parse_path(struct arena *a, const char *value, size_t len,
    struct addr_path *ret_path, struct addr_error *err)
{
	struct addr_path p;
	struct addr_cur c;
	int r;

	if ((r = addr_cur_init(&c, a, value, len, true)) == 0)
		r = addr_parse_reverse_path(&c, &p);
	if (r == 0)
		*ret_path = p;
	return addr_finish(&c, r, err);
}

int
addr_shown_domains(struct arena *a, const char *value, size_t len,
    addr_domain_fn *fn, void *ctx)
{
	struct addr_render r;
	size_t i;
	int rc;

	memset(&r, 0, sizeof(r));
	r.arena = a;
	rc = addr_scan((const uint8_t *)value, len, fn, ctx);
	/* without an encoded word or a quoted-pair a reader's rendering is
	 * the text as written */
	if (rc != 0 || (memmem(value, len, "=?", 2) == NULL &&
	                   memchr(value, '\\', len) == NULL))
		return rc;
	rc = addr_render(&r, (const uint8_t *)value, len);
	for (i = 0; i < ADDR_ICONV_CACHE; i++)
		if (r.cache[i].cd != NULL)
			iconv_close(r.cache[i].cd);
	if (rc == 0)
		rc = addr_scan(r.out, r.len, fn, ctx);
	return rc;
}
