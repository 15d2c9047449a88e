/*
 * table.c -- opendkim's flat-file syntax, the backend dispatch, the
 * SigningTable address lookup order and the '*' wildcard match.
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "authmilter/bounds.h"
#include "authmilter/table.h"
#include "authmilter/xalloc.h"

static bool
table_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

int
table_slurp(const char *path, char **ret_text, size_t *ret_len)
{
	struct stat st;
	size_t len = 0, size = 0, n;
	char *text = NULL, *p;
	FILE *f;

	f = fopen(path, "r");
	if (f == NULL)
		return -errno;
	if (fstat(fileno(f), &st) == 0 && S_ISDIR(st.st_mode)) {
		fclose(f);
		return -EISDIR;
	}
	do {
		if (size - len < 4096) {
			/* not xrealloc: the file is open (see xalloc_try) */
			size = size ? size * 2 : 8192;
			if ((p = realloc(text, size + 1)) == NULL) {
				free(text);
				fclose(f);
				return -ENOMEM;
			}
			text = p;
		}
		n = fread(text + len, 1, size - len, f);
		len += n;
	} while (n > 0);
	if (ferror(f)) {
		free(text);
		fclose(f);
		return -EIO;
	}
	fclose(f);
	text[len] = '\0';
	*ret_text = text;
	*ret_len = len;
	return 0;
}

int
table_next_line(struct table_cursor *c, char **ret_key, char **ret_value,
    const char **ret_why)
{
	const char *nl, *line;
	char *p, *end, *key, *value;
	size_t n;

	for (;;) {
		if (c->p >= c->end)
			return 0;
		line = c->p;
		nl = memchr(line, '\n', (size_t)(c->end - line));
		n = nl != NULL ? (size_t)(nl - line) : (size_t)(c->end - line);
		c->p = nl != NULL ? nl + 1 : c->end;
		c->line++;
		if (n > BOUND_CONFIG_LINE_BYTES) {
			*ret_why = "line too long";
			return -EINVAL;
		}
		if (memchr(line, '\0', n) != NULL) {
			*ret_why = "NUL byte in line";
			return -EINVAL;
		}
		memcpy(c->buf, line, n);
		c->buf[n] = '\0';
		/* opendkim(8), DATA SETS: '#' starts a comment */
		if ((p = strchr(c->buf, '#')) != NULL)
			*p = '\0';
		for (key = c->buf; table_space(*key); key++)
			;
		if (*key == '\0')
			continue;
		for (end = key; *end != '\0' && !table_space(*end); end++)
			;
		value = end;
		if (*end != '\0')
			*value++ = '\0';
		while (table_space(*value))
			value++;
		end = value + strlen(value);
		while (end > value && table_space(end[-1]))
			*--end = '\0';
		*ret_key = key;
		*ret_value = value;
		return 1;
	}
}

void
table_error(
    struct buf *errors, const char *where, unsigned line, const char *fmt, ...)
{
	va_list ap;
	char msg[512];

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (line > 0)
		buf_addf(errors, "%s:%u: %s\n", where, line, msg);
	else
		buf_addf(errors, "%s: %s\n", where, msg);
}

int
table_read_lines(struct table *t, struct buf *errors)
{
	struct table_cursor c;
	const char *why;
	char *text, *key, *value;
	size_t len, cap = 0;
	int r, status = 0;

	if ((r = table_slurp(t->path, &text, &len)) != 0) {
		table_error(errors, t->path, 0, "%s", strerror(-r));
		return r;
	}
	table_cursor_init(&c, text, len);
	while ((r = table_next_line(&c, &key, &value, &why)) != 0) {
		if (r < 0) {
			table_error(errors, t->path, c.line, "%s", why);
			status = -EINVAL;
			continue;
		}
		if (t->n_entries >= BOUND_TABLE_ENTRIES) {
			table_error(errors, t->path, c.line,
			    "more than %d entries", BOUND_TABLE_ENTRIES);
			status = -EINVAL;
			break;
		}
		if (t->n_entries == cap) {
			cap = cap ? cap * 2 : 16;
			t->entries =
			    xrealloc(t->entries, cap * sizeof(*t->entries));
		}
		for (char *k = key; *k != '\0'; k++)
			*k = (char)tolower((unsigned char)*k);
		t->entries[t->n_entries].key = xstrdup(key);
		t->entries[t->n_entries].value = xstrdup(value);
		t->entries[t->n_entries].line = c.line;
		t->n_entries++;
	}
	free(text);
	return status;
}

void
table_cursor_init(struct table_cursor *c, const char *text, size_t len)
{
	c->p = text;
	c->end = text + len;
	c->line = 0;
}

int
table_open(const char *spec, struct table **ret_table, struct buf *errors)
{
	const struct table_ops *ops;
	const char *path;
	struct table *t;
	int r;

	if (strncmp(spec, "file:", 5) == 0) {
		ops = &table_file_ops;
		path = spec + 5;
	} else if (strncmp(spec, "refile:", 7) == 0) {
		ops = &table_refile_ops;
		path = spec + 7;
	} else if (spec[0] == '/') {
		ops = &table_file_ops;
		path = spec;
	} else {
		table_error(errors, spec, 0,
		    "not a table: want file:/path, "
		    "refile:/path or an absolute path");
		return -EINVAL;
	}
	if (path[0] == '\0') {
		table_error(errors, spec, 0, "no file name");
		return -EINVAL;
	}
	t = xcalloc(1, sizeof(*t));
	t->ops = ops;
	t->path = xstrdup(path);
	r = table_read_lines(t, errors);
	if (r == 0)
		r = ops->index(t, errors);
	if (r != 0) {
		table_free(t);
		return r;
	}
	*ret_table = t;
	return 0;
}

struct table *
table_free(struct table *t)
{
	size_t i;

	if (t == NULL)
		return NULL;
	if (t->ops->free_priv != NULL)
		t->ops->free_priv(t);
	for (i = 0; i < t->n_entries; i++) {
		free(t->entries[i].key);
		free(t->entries[i].value);
	}
	free(t->entries);
	free(t->path);
	free(t);
	return NULL;
}

const struct table_entry *
table_lookup(const struct table *t, const char *key, size_t key_len)
{
	const struct table_entry *e;

	return t->ops->match(t, key, key_len, &e, 1) > 0 ? e : NULL;
}

size_t
table_lookup_all(const struct table *t, const char *key, size_t key_len,
    const struct table_entry **ret, size_t max)
{
	return t->ops->match(t, key, key_len, ret, max);
}

/* Try one lookup form; add its matches after the *n found so far. */
static bool
table_try(const struct table *t, const char *key, size_t key_len,
    const struct table_entry **ret, size_t max, size_t *n)
{
	size_t got;

	got = t->ops->match(t, key, key_len, ret + (*n < max ? *n : max),
	    *n < max ? max - *n : 0);
	*n += got;
	return got > 0;
}

size_t
table_lookup_address(const struct table *t, const char *local,
    const char *domain, bool all, const struct table_entry **ret, size_t max)
{
	char key[BOUND_TABLE_KEY_BYTES + 3];
	size_t ll = strlen(local), dl = strlen(domain), n = 0;
	const char *d;
	int kl;

	if (ll + dl + 1 > BOUND_TABLE_KEY_BYTES)
		return 0;
	if (!all && max > 1)
		max = 1;
	kl = snprintf(key, sizeof(key), "%s@%s", local, domain);
	if (t->ops->patterns)
		return table_try(t, key, (size_t)kl, ret, max, &n) ? n : 0;
	/* opendkim.conf(5), SigningTable: user@host, host, user@.domain
	 * and .domain for each parent, user@*, then * */
	if (table_try(t, key, (size_t)kl, ret, max, &n) && !all)
		return n;
	if (dl > 0 && table_try(t, domain, dl, ret, max, &n) && !all)
		return n;
	for (d = strchr(domain, '.'); d != NULL; d = strchr(d + 1, '.')) {
		kl = snprintf(key, sizeof(key), "%s@%s", local, d);
		if (table_try(t, key, (size_t)kl, ret, max, &n) && !all)
			return n;
		if (table_try(t, d, strlen(d), ret, max, &n) && !all)
			return n;
	}
	kl = snprintf(key, sizeof(key), "%s@*", local);
	if (table_try(t, key, (size_t)kl, ret, max, &n) && !all)
		return n;
	table_try(t, "*", 1, ret, max, &n);
	return n;
}

bool
table_glob(const char *pat, size_t pl, const char *s, size_t sl)
{
	size_t pi = 0, si = 0, star_p = (size_t)-1, star_s = 0;

	/* Greedy match with one backtrack point: the last '*' seen. Each
	 * mismatch moves the '*' one byte on, so the work is O(pl * sl). */
	while (si < sl) {
		if (pi < pl && pat[pi] == '*') {
			star_p = pi++;
			star_s = si;
		} else if (pi < pl && tolower((unsigned char)pat[pi]) ==
		                          tolower((unsigned char)s[si])) {
			pi++;
			si++;
		} else if (star_p != (size_t)-1) {
			pi = star_p + 1;
			si = ++star_s;
		} else {
			return false;
		}
	}
	while (pi < pl && pat[pi] == '*')
		pi++;
	return pi == pl;
}
