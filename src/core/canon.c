/*
 * canon.c -- DKIM canonicalization (RFC 6376 section 3.4): header fields
 * into a buf, bodies streamed into a hash.
 *
 * The body stream keeps O(1) state between chunks: a CR that may start a
 * CRLF, a pending WSP run (relaxed), and the number of CRLFs held back
 * because they may be trailing empty lines. Everything else is hashed as
 * it goes, in runs: bytes of the input that are already canonical are
 * hashed as one slice, however many lines they span (relaxed checks them
 * eight at a time); short pieces are gathered in a 2 KB stage first, so
 * the hash sees few, large updates.
 *
 * Line ends: CRLF is a line end, a bare LF is a line end (hashed as CRLF),
 * and a CR not followed by LF is an ordinary byte of the line (for relaxed
 * too: it is not WSP, so it ends a WSP run and keeps the WSP before it).
 * This is what dkimpy does (it splits the message on "\r?\n" and joins
 * with CRLF), and a lone CR can only reach us that way or from a file.
 * A last line without CRLF gets one (RFC 6376 §3.4.3/§3.4.4, erratum
 * 1384); in relaxed its trailing WSP run is kept as one SP, again as
 * dkimpy does (over SMTP a body always ends with CRLF, so only files see
 * this).
 */
#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <strings.h>

#include <openssl/err.h>
#include <openssl/evp.h>

#include "authmilter/canon.h"
#include "authmilter/xalloc.h"

/* Bytes gathered before a hash update; pieces of at least CANON_DIRECT
 * bytes go to the hash directly (after what is staged). */
#define CANON_STAGE 2048
#define CANON_DIRECT 512

struct canon_body {
	EVP_MD_CTX *md; /* arena cleanup frees it */
	enum canon_alg alg;
	enum canon_hash hash;
	int64_t limit;              /* -1: no limit */
	uint64_t total;             /* canonical bytes produced */
	uint64_t crlfs;             /* CRLFs held back: maybe trailing lines */
	bool cr;                    /* the last byte seen was a CR */
	bool wsp;                   /* relaxed: a WSP run is pending */
	bool any;                   /* some content has been produced */
	bool done;                  /* canon_body_final() was called */
	size_t staged;              /* bytes in stage */
	uint8_t stage[CANON_STAGE]; /* canonical bytes not yet hashed */
};

/* Relaxed: the bytes that end a run of plain content. */
static const uint8_t canon_special[256] = {
    ['\r'] = 1,
    ['\n'] = 1,
    [' '] = 1,
    ['\t'] = 1,
};

static const char canon_crlfs[] = "\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n"
                                  "\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n";

const char *
canon_alg_name(enum canon_alg alg)
{
	return alg == CANON_RELAXED ? "relaxed" : "simple";
}

int
canon_alg_parse(const char *s, size_t n, enum canon_alg *ret_alg)
{
	if (n == 6 && strncasecmp(s, "simple", n) == 0) {
		*ret_alg = CANON_SIMPLE;
		return 0;
	}
	if (n == 7 && strncasecmp(s, "relaxed", n) == 0) {
		*ret_alg = CANON_RELAXED;
		return 0;
	}
	return -EINVAL;
}

static bool
canon_is_wsp(char c)
{
	return c == ' ' || c == '\t';
}

/* Whether v[i] starts a CRLF (i < n). */
static bool
canon_is_crlf(const char *v, size_t n, size_t i)
{
	return v[i] == '\r' && i + 1 < n && v[i + 1] == '\n';
}

/* RFC 6376 §3.4.2: relaxed header canonicalization of the value; the
 * bytes between whitespace go out a run at a time. */
static void
canon_header_relaxed_value(struct buf *out, const char *v, size_t n)
{
	bool started = false, wsp = false;
	size_t i = 0, end;

	while (i < n) {
		/* unfold: a CRLF vanishes, the WSP after it stays */
		if (canon_is_crlf(v, n, i)) {
			i += 2;
			continue;
		}
		if (canon_is_wsp(v[i])) {
			wsp = true;
			i++;
			continue;
		}
		for (end = i + 1; end < n && !canon_is_wsp(v[end]) &&
		                  !canon_is_crlf(v, n, end);
		     end++)
			;
		/* WSP runs become one SP; none at the start or the end */
		if (wsp && started)
			buf_addc(out, ' ');
		wsp = false;
		started = true;
		buf_add(out, v + i, end - i);
		i = end;
	}
}

void
canon_header(struct buf *out, enum canon_alg alg, const char *name,
    size_t name_len, const char *value, size_t value_len)
{
	size_t i, start;

	if (alg == CANON_SIMPLE) {
		/* RFC 6376 §3.4.1: the field as it is */
		buf_add(out, name, name_len);
		buf_addc(out, ':');
		buf_add(out, value, value_len);
		buf_add(out, "\r\n", 2);
		return;
	}
	/* RFC 6376 §3.4.2: lower-case name, no WSP before the colon */
	while (name_len > 0 && canon_is_wsp(name[name_len - 1]))
		name_len--;
	start = out->len;
	buf_add(out, name, name_len);
	for (i = start; buf_error(out) == 0 && i < out->len; i++)
		if (out->data[i] >= 'A' && out->data[i] <= 'Z')
			out->data[i] = (char)(out->data[i] - 'A' + 'a');
	buf_addc(out, ':');
	canon_header_relaxed_value(out, value, value_len);
	buf_add(out, "\r\n", 2);
}

static void
canon_md_free(void *p)
{
	EVP_MD_CTX_free(p);
}

static EVP_MD *canon_sha256_md; /* set once by canon_sha256_fetch */
static pthread_once_t canon_sha256_once = PTHREAD_ONCE_INIT;

static void
canon_sha256_fetch(void)
{
	canon_sha256_md = EVP_MD_fetch(NULL, "SHA256", NULL);
	ERR_clear_error();
}

const EVP_MD *
canon_sha256(void)
{
	pthread_once(&canon_sha256_once, canon_sha256_fetch);
	return canon_sha256_md != NULL ? canon_sha256_md : EVP_sha256();
}

int
canon_body_new(struct arena *a, enum canon_alg alg, enum canon_hash hash,
    int64_t limit, struct canon_body **ret)
{
	struct canon_body *cb;
	EVP_MD_CTX *md;

	if (alg != CANON_SIMPLE && alg != CANON_RELAXED)
		panic("canon_body_new: alg %d", (int)alg);
	if (hash != CANON_SHA256)
		panic("canon_body_new: hash %d", (int)hash);
	if ((cb = arena_zalloc(a, sizeof(*cb))) == NULL)
		return -ENOMEM;
	if ((md = EVP_MD_CTX_new()) == NULL)
		return -ENOMEM;
	if (arena_cleanup(a, canon_md_free, md) != 0)
		return -ENOMEM;
	if (EVP_DigestInit_ex(md, canon_sha256(), NULL) != 1)
		return -EIO;
	cb->md = md;
	cb->alg = alg;
	cb->hash = hash;
	cb->limit = limit < 0 ? -1 : limit;
	*ret = cb;
	return 0;
}

/* Hand the staged bytes to the hash. @return 0 or -EIO */
static int
canon_stage_flush(struct canon_body *cb)
{
	size_t n = cb->staged;

	cb->staged = 0;
	if (n > 0 && EVP_DigestUpdate(cb->md, cb->stage, n) != 1)
		return -EIO;
	return 0;
}

/* Hash n canonical bytes, as far as the limit (l=) allows, and count
 * them. Short pieces are gathered in the stage, so that a line broken by
 * WSP runs costs one EVP_DigestUpdate() per stage, not several per line.
 * @return 0 or -EIO */
static int
canon_emit(struct canon_body *cb, const void *p, size_t n)
{
	uint64_t room;
	int r;

	if (cb->limit >= 0) {
		/* RFC 6376 §3.5 l=: only the first l bytes are hashed */
		room = cb->total >= (uint64_t)cb->limit
		           ? 0
		           : (uint64_t)cb->limit - cb->total;
		cb->total += n;
		if (room < n)
			n = (size_t)room;
	} else {
		cb->total += n;
	}
	if ((n >= CANON_DIRECT || n > sizeof(cb->stage) - cb->staged) &&
	    (r = canon_stage_flush(cb)) != 0)
		return r;
	if (n >= CANON_DIRECT) {
		if (EVP_DigestUpdate(cb->md, p, n) != 1)
			return -EIO;
		return 0;
	}
	memcpy(cb->stage + cb->staged, p, n);
	cb->staged += n;
	return 0;
}

/* Content follows: the held-back CRLFs were not trailing after all, and a
 * pending WSP run becomes one SP (RFC 6376 §3.4.4). */
static int
canon_flush(struct canon_body *cb)
{
	size_t n;
	int r;

	while (cb->crlfs > 0) {
		n = cb->crlfs < sizeof(canon_crlfs) / 2
		        ? (size_t)cb->crlfs
		        : sizeof(canon_crlfs) / 2;
		if ((r = canon_emit(cb, canon_crlfs, 2 * n)) != 0)
			return r;
		cb->crlfs -= n;
	}
	if (cb->wsp) {
		cb->wsp = false;
		if ((r = canon_emit(cb, " ", 1)) != 0)
			return r;
	}
	cb->any = true;
	return 0;
}

/* A line ends: hold its CRLF back (RFC 6376 §3.4.3: trailing empty lines
 * are ignored); relaxed drops the WSP before it (§3.4.4). */
static void
canon_line_end(struct canon_body *cb)
{
	cb->wsp = false;
	cb->crlfs++;
}

/* Hash the run [*run, end) if one is open, and close it. */
static int
canon_close_run(struct canon_body *cb, const uint8_t **run, const uint8_t *end)
{
	int r = 0;

	if (*run != NULL)
		r = canon_emit(cb, *run, (size_t)(end - *run));
	*run = NULL;
	return r;
}

/* Open a run at p unless one is open: pending output goes first. */
static int
canon_open_run(struct canon_body *cb, const uint8_t **run, const uint8_t *p)
{
	if (*run != NULL)
		return 0;
	*run = p;
	return canon_flush(cb);
}

/* One special byte at *pp (CR, LF, or relaxed WSP); *pp moves past what
 * was consumed. Bytes that are canonical where they stand join the run.
 */
static int
canon_special_byte(struct canon_body *cb, const uint8_t **run,
    const uint8_t **pp, const uint8_t *end)
{
	const uint8_t *p = *pp;
	size_t left = (size_t)(end - p);
	int r;

	if (*p == '\r') {
		if (left >= 2 && p[1] == '\n') {
			/* a CRLF between a run and more content is
			 * canonical as it stands */
			if (*run != NULL && left >= 3 && !canon_special[p[2]]) {
				*pp = p + 2;
				return 0;
			}
			r = canon_close_run(cb, run, p);
			canon_line_end(cb);
			*pp = p + 2;
			return r;
		}
		if (left == 1) {
			/* the LF may come in the next chunk */
			r = canon_close_run(cb, run, p);
			cb->cr = true;
			*pp = p + 1;
			return r;
		}
		/* a lone CR is a byte of the line */
		*pp = p + 1;
		return canon_open_run(cb, run, p);
	}
	if (*p == '\n') {
		/* a bare LF ends a line like CRLF */
		r = canon_close_run(cb, run, p);
		canon_line_end(cb);
		*pp = p + 1;
		return r;
	}
	/* relaxed WSP: a single SP before content is canonical already
	 * (unless it continues a WSP run from the last chunk) */
	if (*p == ' ' && !cb->wsp && left >= 2 && !canon_special[p[1]]) {
		*pp = p + 2;
		return canon_open_run(cb, run, p);
	}
	/* RFC 6376 §3.4.4: reduce a WSP run to one SP, sent when content
	 * follows on the same line */
	r = canon_close_run(cb, run, p);
	while (p < end && canon_is_wsp((char)*p))
		p++;
	cb->wsp = true;
	*pp = p;
	return r;
}

/* Simple (RFC 6376 §3.4.3): only line ends matter, so the chunk goes line
 * by line with memchr(); a CRLF followed by content stays in the run. */
static int
canon_simple_chunk(struct canon_body *cb, const uint8_t *p, const uint8_t *end)
{
	const uint8_t *run = NULL, *q, *eol;
	int r;

	while (p < end) {
		if ((q = memchr(p, '\n', (size_t)(end - p))) == NULL) {
			/* a CR at the end may be half a CRLF */
			eol = end[-1] == '\r' ? end - 1 : end;
			if (eol > p && (r = canon_open_run(cb, &run, p)) != 0)
				return r;
			cb->cr = eol != end;
			return canon_close_run(cb, &run, eol);
		}
		/* a lone CR is content; CR LF and a bare LF end the line */
		eol = q > p && q[-1] == '\r' ? q - 1 : q;
		if (eol > p && (r = canon_open_run(cb, &run, p)) != 0)
			return r;
		p = q + 1;
		if (run != NULL && eol != q && p < end && *p != '\r' &&
		    *p != '\n')
			continue;
		if ((r = canon_close_run(cb, &run, eol)) != 0)
			return r;
		canon_line_end(cb);
	}
	return canon_close_run(cb, &run, end);
}

#define CANON_ONES 0x0101010101010101ULL
#define CANON_HIGH 0x8080808080808080ULL

/* The high bit of each byte of w that is below n (n <= 0x80), exactly. */
static inline uint64_t
canon_below(uint64_t w, unsigned n)
{
	return ~(((w & ~CANON_HIGH) + (0x80 - n) * CANON_ONES) | w) &
	       CANON_HIGH;
}

/* How many of the 8 bytes at p are canonical relaxed content where they
 * stand, checked a word at a time: 8 when none is a control byte and no
 * SP is followed by another SP; 7 when the last is a SP (its follower is
 * in the next word); 0 when the word needs a closer look. */
static size_t
canon_relaxed_word(const uint8_t *p)
{
	uint64_t w, ctl, sp;

	memcpy(&w, p, sizeof(w));
	if ((ctl = canon_below(w, 0x20)) != 0)
		return 0; /* TAB, CR, LF or another control */
	sp = canon_below(w, 0x21);
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	if ((sp & (sp << 8)) != 0)
		return 0;
	return (sp & 0x80) != 0 ? 7 : 8;
#else
	if ((sp & (sp >> 8)) != 0)
		return 0;
	return (sp >> 56) != 0 ? 7 : 8;
#endif
}

/* Past the bytes from p that are canonical where they stand, a run being
 * open: plain bytes, single SPs and CRLFs followed by a plain byte. */
static const uint8_t *
canon_relaxed_skip(const uint8_t *p, const uint8_t *end)
{
	const uint8_t *special = canon_special;
	size_t k;

	for (;;) {
		while (end - p >= 8 && (k = canon_relaxed_word(p)) > 0)
			p += k;
		while (p < end && !special[*p])
			p++;
		if (end - p >= 2 && p[0] == ' ' && !special[p[1]])
			p += 2;
		else if (end - p >= 3 && p[0] == '\r' && p[1] == '\n' &&
		         !special[p[2]])
			p += 3;
		else
			return p;
	}
}

/* Relaxed (RFC 6376 §3.4.4): runs of canonical bytes, and the bytes that
 * are not (WSP runs, line ends) one at a time. */
static int
canon_relaxed_chunk(struct canon_body *cb, const uint8_t *p, const uint8_t *end)
{
	const uint8_t *run = NULL;
	int r;

	while (p < end) {
		if (!canon_special[*p]) {
			if ((r = canon_open_run(cb, &run, p)) != 0)
				return r;
			p = canon_relaxed_skip(p + 1, end);
			continue;
		}
		if ((r = canon_special_byte(cb, &run, &p, end)) != 0)
			return r;
	}
	return canon_close_run(cb, &run, end);
}

int
canon_body_update(struct canon_body *cb, const char *data, size_t len)
{
	const uint8_t *p = (const uint8_t *)data, *end = p + len;
	int r;

	if (cb->done)
		panic("canon_body_update after canon_body_final");
	if (len == 0)
		return 0;
	if (cb->cr) {
		/* a CR ended the last chunk */
		cb->cr = false;
		if (*p == '\n') {
			canon_line_end(cb);
			p++;
		} else if ((r = canon_flush(cb)) != 0 ||
		           (r = canon_emit(cb, "\r", 1)) != 0) {
			return r;
		}
	}
	if (cb->alg == CANON_SIMPLE)
		return canon_simple_chunk(cb, p, end);
	return canon_relaxed_chunk(cb, p, end);
}

int
canon_body_final(struct canon_body *cb, uint8_t *digest, size_t *ret_len)
{
	unsigned int n = 0;
	int r;

	if (cb->done)
		panic("canon_body_final called twice");
	cb->done = true;
	/* a CR at the very end is a byte of the last line */
	if (cb->cr &&
	    ((r = canon_flush(cb)) != 0 || (r = canon_emit(cb, "\r", 1)) != 0))
		return r;
	cb->cr = false;
	/* WSP ending an unterminated last line stays as one SP */
	if (cb->wsp && (r = canon_flush(cb)) != 0)
		return r;
	/* RFC 6376 §3.4.3: trailing empty lines go, the last line keeps (or
	 * gets) its CRLF, and an empty body is one CRLF. §3.4.4: the same,
	 * but an empty body stays empty. */
	if ((cb->any || cb->alg == CANON_SIMPLE) &&
	    (r = canon_emit(cb, "\r\n", 2)) != 0)
		return r;
	cb->crlfs = 0;
	if ((r = canon_stage_flush(cb)) != 0)
		return r;
	if (EVP_DigestFinal_ex(cb->md, digest, &n) != 1)
		return -EIO;
	*ret_len = n;
	return 0;
}

uint64_t
canon_body_length(const struct canon_body *cb)
{
	return cb->total;
}

bool
canon_body_matches(const struct canon_body *cb, enum canon_alg alg,
    enum canon_hash hash, int64_t limit)
{
	return cb->alg == alg && cb->hash == hash &&
	       cb->limit == (limit < 0 ? -1 : limit);
}
