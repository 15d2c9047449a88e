/*
 * canon.c -- DKIM canonicalization (RFC 6376 section 3.4): header fields
 * into a buf, bodies streamed into a hash.
 *
 * The body stream keeps O(1) state between chunks: a CR that may start a
 * CRLF, a pending WSP run (relaxed), and the number of CRLFs held back
 * because they may be trailing empty lines. Everything else is hashed as
 * it goes, in runs: bytes of the input that are already canonical are
 * handed to EVP_DigestUpdate() as one slice, however many lines they span.
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
#include <string.h>
#include <strings.h>

#include <openssl/evp.h>

#include "authmilter/canon.h"
#include "authmilter/xalloc.h"

struct canon_body {
	EVP_MD_CTX *md;		/* arena cleanup frees it */
	const uint8_t *special;	/* bytes that are not plain content */
	enum canon_alg alg;
	enum canon_hash hash;
	int64_t limit;		/* -1: no limit */
	uint64_t total;		/* canonical bytes produced */
	uint64_t crlfs;		/* CRLFs held back: maybe trailing lines */
	bool cr;		/* the last byte seen was a CR */
	bool wsp;		/* relaxed: a WSP run is pending */
	bool any;		/* some content has been produced */
	bool done;		/* canon_body_final() was called */
};

/* Bytes that end a run of plain content: CR and LF, and in relaxed WSP
 * too. */
static const uint8_t canon_special[2][256] = {
	[CANON_SIMPLE] = { ['\r'] = 1, ['\n'] = 1 },
	[CANON_RELAXED] = { ['\r'] = 1, ['\n'] = 1, [' '] = 1, ['\t'] = 1 },
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

/* RFC 6376 §3.4.2: relaxed header canonicalization of the value. */
static void
canon_header_relaxed_value(struct buf *out, const char *v, size_t n)
{
	bool started = false, wsp = false;
	size_t i;

	for (i = 0; i < n; i++) {
		/* unfold: a CRLF vanishes, the WSP after it stays */
		if (v[i] == '\r' && i + 1 < n && v[i + 1] == '\n') {
			i++;
			continue;
		}
		if (canon_is_wsp(v[i])) {
			wsp = true;
			continue;
		}
		/* WSP runs become one SP; none at the start or the end */
		if (wsp && started)
			buf_addc(out, ' ');
		wsp = false;
		started = true;
		buf_addc(out, v[i]);
	}
}

void
canon_header(struct buf *out, enum canon_alg alg, const char *name,
    size_t name_len, const char *value, size_t value_len)
{
	size_t i;

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
	for (i = 0; i < name_len; i++) {
		char c = name[i];

		buf_addc(out, c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c);
	}
	buf_addc(out, ':');
	canon_header_relaxed_value(out, value, value_len);
	buf_add(out, "\r\n", 2);
}

static void
canon_md_free(void *p)
{
	EVP_MD_CTX_free(p);
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
	if (EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1)
		return -EIO;
	cb->md = md;
	cb->special = canon_special[alg];
	cb->alg = alg;
	cb->hash = hash;
	cb->limit = limit < 0 ? -1 : limit;
	*ret = cb;
	return 0;
}

/* Hash n canonical bytes, as far as the limit (l=) allows, and count
 * them. @return 0 or -EIO */
static int
canon_emit(struct canon_body *cb, const void *p, size_t n)
{
	uint64_t room;

	if (cb->limit >= 0) {
		/* RFC 6376 §3.5 l=: only the first l bytes are hashed */
		room = cb->total >= (uint64_t)cb->limit ?
		    0 : (uint64_t)cb->limit - cb->total;
		if (room < n) {
			cb->total += n;
			n = (size_t)room;
		} else {
			cb->total += n;
		}
	} else {
		cb->total += n;
	}
	if (n > 0 && EVP_DigestUpdate(cb->md, p, n) != 1)
		return -EIO;
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
		n = cb->crlfs < sizeof(canon_crlfs) / 2 ?
		    (size_t)cb->crlfs : sizeof(canon_crlfs) / 2;
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
canon_close_run(struct canon_body *cb, const uint8_t **run,
    const uint8_t *end)
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
			if (*run != NULL && left >= 3 && !cb->special[p[2]]) {
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
	if (*p == ' ' && !cb->wsp && left >= 2 && !cb->special[p[1]]) {
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

int
canon_body_update(struct canon_body *cb, const char *data, size_t len)
{
	const uint8_t *p = (const uint8_t *)data, *end = p + len;
	const uint8_t *run = NULL, *special = cb->special;
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
	while (p < end) {
		if (!special[*p]) {
			if ((r = canon_open_run(cb, &run, p)) != 0)
				return r;
			while (++p < end && !special[*p])
				;
			continue;
		}
		if ((r = canon_special_byte(cb, &run, &p, end)) != 0)
			return r;
	}
	return canon_close_run(cb, &run, end);
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
	if (cb->cr && ((r = canon_flush(cb)) != 0 ||
	    (r = canon_emit(cb, "\r", 1)) != 0))
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
