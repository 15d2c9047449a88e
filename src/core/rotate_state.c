/*
 * rotate_state.c -- the rotation state file: parsing every line with its
 * rules, writing it back, atomic saves, and the daemon's acknowledgement
 * file (see rotate.h for the format).
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "authmilter/dns.h"
#include "authmilter/rotate.h"
#include "authmilter/table.h"

#define ROTATE_STATE_MAGIC "authmilter-rotate"
#define ROTATE_STATE_VERSION 1
/* Words on one line: a key line has 8. */
#define ROTATE_STATE_WORDS 10
/* The file's size: a domain with all its keys takes about 2 KB. */
#define ROTATE_STATE_BYTES ((size_t)BOUND_ROTATE_DOMAINS * 2048)

struct state_parser {
	const char *label;
	unsigned line;
	struct buf *why;
	struct rotate_state *s;
	struct rotate_domain *cur; /* the domain key lines belong to */
	bool have_version, have_generation;
};

static int state_fail(struct state_parser *p, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int
state_fail(struct state_parser *p, const char *fmt, ...)
{
	char msg[400];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (p->why != NULL)
		buf_addf(p->why, "%s:%u: %s", p->label, p->line, msg);
	return -EINVAL;
}

/* Split s in place into blank-separated words. @return how many, or
 * ROTATE_STATE_WORDS + 1 when there are more. */
static size_t
state_words(char *s, char **w)
{
	size_t n = 0;

	for (;;) {
		while (*s == ' ' || *s == '\t')
			*s++ = '\0';
		if (*s == '\0')
			return n;
		if (n == ROTATE_STATE_WORDS)
			return n + 1;
		w[n++] = s;
		while (*s != '\0' && *s != ' ' && *s != '\t')
			s++;
	}
}

/* A decimal number of at most 19 digits (no sign, no leading junk). */
static int
state_number(const char *s, uint64_t *ret)
{
	uint64_t v = 0;
	size_t n = 0;

	for (; *s != '\0'; s++, n++) {
		if (!isdigit((unsigned char)*s) || n == 19)
			return -EINVAL;
		v = v * 10 + (uint64_t)(*s - '0');
	}
	if (n == 0)
		return -EINVAL;
	*ret = v;
	return 0;
}

/* A domain or selector as written: a valid name, lower-case, no final
 * dot, no blank; a selector is one label. */
static bool
state_name_ok(const char *s, bool label)
{
	const char *p;

	if (!dns_name_valid(s) || s[strlen(s) - 1] == '.')
		return false;
	for (p = s; *p != '\0'; p++)
		if (*p == ' ' || isupper((unsigned char)*p) ||
		    (label && *p == '.'))
			return false;
	return true;
}

static int
state_header(struct state_parser *p, const char *key, char **w, size_t n)
{
	uint64_t v;

	if (!p->have_version) {
		if (strcmp(key, ROTATE_STATE_MAGIC) != 0 || n != 1 ||
		    state_number(w[0], &v) != 0)
			return state_fail(p,
			    "not a rotation state file (want "
			    "\"" ROTATE_STATE_MAGIC " %d\" "
			    "first)",
			    ROTATE_STATE_VERSION);
		if (v != ROTATE_STATE_VERSION)
			return state_fail(p,
			    "state file version %" PRIu64
			    ", this authmilter reads %d",
			    v, ROTATE_STATE_VERSION);
		p->have_version = true;
		return 0;
	}
	if (strcmp(key, "generation") != 0 || p->have_generation)
		return state_fail(p, "want \"generation N\" once, after the "
		                     "version line");
	if (n != 1 || state_number(w[0], &p->s->generation) != 0)
		return state_fail(p, "generation: want a number");
	p->have_generation = true;
	return 0;
}

/* The NAME=VALUE fields of a domain line. */
static int
state_domain_field(struct state_parser *p, struct rotate_domain *d,
    const char *word, unsigned *seen)
{
	static const char *const names[] = {
	    "phase", "since", "switched", "confirmed", "gen", "wait"};
	const char *eq = strchr(word, '=');
	size_t i, n = eq ? (size_t)(eq - word) : 0;
	uint64_t v = 0;

	for (i = 0; i < 6; i++)
		if (n == strlen(names[i]) && strncmp(word, names[i], n) == 0)
			break;
	if (eq == NULL || i == 6)
		return state_fail(p,
		    "\"%.40s\": want phase=, since=, "
		    "switched=, confirmed=, gen= or wait=",
		    word);
	if (*seen & (1u << i))
		return state_fail(p, "%s= given twice", names[i]);
	*seen |= 1u << i;
	if (i == 0) {
		if (rotate_phase_parse(eq + 1, strlen(eq + 1), &d->phase) != 0)
			return state_fail(
			    p, "phase \"%.40s\": not a phase", eq + 1);
		return 0;
	}
	if (state_number(eq + 1, &v) != 0 || v > INT64_MAX)
		return state_fail(
		    p, "%s=\"%.40s\": not a number", names[i], eq + 1);
	switch (i) {
	case 1:
		d->since = (int64_t)v;
		break;
	case 2:
		d->switched = (int64_t)v;
		break;
	case 3:
		d->confirmed = (int64_t)v;
		break;
	case 4:
		d->switch_gen = v;
		break;
	default:
		d->wait_until = (int64_t)v;
		break;
	}
	return 0;
}

static int
state_domain(struct state_parser *p, char **w, size_t n)
{
	struct rotate_domain *d;
	unsigned seen = 0;
	size_t i;
	int r;

	if (n != 7)
		return state_fail(p, "want domain NAME phase= since= "
		                     "switched= confirmed= gen= wait=");
	if (!state_name_ok(w[0], false))
		return state_fail(p,
		    "\"%.80s\": not a domain name (lower-case, "
		    "no final dot)",
		    w[0]);
	if (rotate_state_domain(p->s, w[0], false) != NULL)
		return state_fail(p, "domain %s given twice", w[0]);
	if (p->s->n_domains == BOUND_ROTATE_DOMAINS)
		return state_fail(
		    p, "more than %d domains", BOUND_ROTATE_DOMAINS);
	if ((d = rotate_state_domain(p->s, w[0], true)) == NULL)
		return -ENOMEM;
	p->cur = d;
	for (i = 1; i < n; i++)
		if ((r = state_domain_field(p, d, w[i], &seen)) != 0)
			return r;
	return 0;
}

static int
state_key(struct state_parser *p, char **w, size_t n)
{
	struct rotate_domain *d = p->cur;
	enum rotate_role role;
	enum dkim_key_type type;
	uint64_t created;
	bool owned;
	size_t i;

	if (n != 7)
		return state_fail(p, "want key DOMAIN ROLE TYPE SELECTOR "
		                     "ORIGIN created=T PATH");
	if (d == NULL || strcmp(d->name, w[0]) != 0)
		return state_fail(
		    p, "key of %.80s not after its domain line", w[0]);
	if (strcmp(w[1], "current") == 0)
		role = ROTATE_CURRENT;
	else if (strcmp(w[1], "next") == 0)
		role = ROTATE_NEXT;
	else if (strcmp(w[1], "old") == 0)
		role = ROTATE_OLD;
	else
		return state_fail(p,
		    "role \"%.40s\": want current, next or "
		    "old",
		    w[1]);
	if (strcmp(w[2], "rsa") == 0)
		type = DKIM_KEY_RSA;
	else if (strcmp(w[2], "ed25519") == 0)
		type = DKIM_KEY_ED25519;
	else
		return state_fail(
		    p, "type \"%.40s\": want rsa or ed25519", w[2]);
	if (strlen(w[3]) > BOUND_LABEL_LEN || !state_name_ok(w[3], true))
		return state_fail(
		    p, "selector \"%.80s\": not a selector", w[3]);
	for (i = 0; i < d->n_keys; i++)
		if (strcmp(d->keys[i].selector, w[3]) == 0)
			return state_fail(p, "selector %s given twice", w[3]);
	if (strcmp(w[4], "rotate") != 0 && strcmp(w[4], "operator") != 0)
		return state_fail(p,
		    "origin \"%.40s\": want rotate or "
		    "operator",
		    w[4]);
	owned = w[4][0] == 'r';
	if (strncmp(w[5], "created=", 8) != 0 ||
	    state_number(w[5] + 8, &created) != 0 || created > INT64_MAX)
		return state_fail(p, "want created=T, not \"%.40s\"", w[5]);
	if (owned ? w[6][0] != '/' : strcmp(w[6], "-") != 0)
		return state_fail(p, "%s",
		    owned ? "a key made by rotation "
		            "needs its absolute path"
		          : "an operator's key has path "
		            "\"-\"");
	if (d->n_keys == BOUND_ROTATE_KEYS)
		return state_fail(
		    p, "more than %d keys for %s", BOUND_ROTATE_KEYS, d->name);
	if (rotate_state_add_key(d, role, type, w[3], owned, (int64_t)created,
	        owned ? w[6] : NULL) == NULL)
		return -ENOMEM;
	return 0;
}

/* The roles a phase allows (what rotate_apply() can make): next keys
 * from generated to visible, and only there; current keys once a switch
 * happened; old keys only while switched (none when nothing signed
 * before the first switch) and retired (the keys to reveal). */
static int
state_check_domain(struct state_parser *p, const struct rotate_domain *d)
{
	size_t cur = rotate_keys_count(d, ROTATE_CURRENT);
	size_t next = rotate_keys_count(d, ROTATE_NEXT);
	size_t old = rotate_keys_count(d, ROTATE_OLD);
	bool want_next =
	    d->phase >= ROTATE_GENERATED && d->phase <= ROTATE_VISIBLE;
	bool may_old = d->phase >= ROTATE_SWITCHED;

	if (want_next != (next > 0))
		return state_fail(p, "%s: phase %s %s next keys", d->name,
		    rotate_phase_name(d->phase),
		    want_next ? "without" : "with");
	if ((!may_old && old > 0) || (d->phase == ROTATE_RETIRED && old == 0))
		return state_fail(p, "%s: phase %s %s old keys", d->name,
		    rotate_phase_name(d->phase), old > 0 ? "with" : "without");
	if ((d->switched > 0) != (cur > 0))
		return state_fail(p,
		    "%s: switched=%" PRId64 " but %zu current "
		    "keys",
		    d->name, d->switched, cur);
	if (d->phase == ROTATE_SWITCHED && cur == 0)
		return state_fail(
		    p, "%s: switched without current keys", d->name);
	return 0;
}

static int
state_line(struct state_parser *p, char *key, char *value)
{
	char *w[ROTATE_STATE_WORDS];
	size_t n = state_words(value, w);

	if (n > ROTATE_STATE_WORDS)
		return state_fail(p, "too many words");
	if (!p->have_version || !p->have_generation)
		return state_header(p, key, w, n);
	if (strcmp(key, "domain") == 0) {
		if (p->cur != NULL && state_check_domain(p, p->cur) != 0)
			return -EINVAL;
		return state_domain(p, w, n);
	}
	if (strcmp(key, "key") == 0)
		return state_key(p, w, n);
	return state_fail(p, "\"%.40s\": want domain or key", key);
}

int
rotate_state_parse(const char *text, size_t len, const char *label,
    struct rotate_state *ret, struct buf *why)
{
	struct state_parser p = {.label = label, .why = why};
	struct table_cursor *c = malloc(sizeof(*c));
	struct rotate_state s = {0};
	char *key, *value;
	const char *lwhy;
	int r = 0, got;

	if (c == NULL)
		return -ENOMEM;
	p.s = &s;
	table_cursor_init(c, text, len);
	while (r == 0 && (got = table_next_line(c, &key, &value, &lwhy)) != 0) {
		p.line = c->line;
		r = got < 0 ? state_fail(&p, "%s", lwhy)
		            : state_line(&p, key, value);
	}
	if (r == 0 && p.cur != NULL)
		r = state_check_domain(&p, p.cur);
	if (r == 0 && !p.have_generation) {
		p.line = c->line;
		r = state_fail(&p, "%s",
		    p.have_version ? "no generation line"
		                   : "empty: not a "
		                     "rotation state "
		                     "file");
	}
	free(c);
	if (r != 0) {
		rotate_state_free(&s);
		return r;
	}
	*ret = s;
	return 0;
}

void
rotate_state_format(const struct rotate_state *s, struct buf *out)
{
	const struct rotate_domain *d;
	const struct rotate_key *k;
	size_t i, j;

	buf_adds(out, "# authmilter key rotation state: written by "
	              "`authmilter rotate`,\n# read by the daemon at start "
	              "and on SIGHUP. Do not edit.\n");
	buf_addf(out, "%s %d\ngeneration %" PRIu64 "\n", ROTATE_STATE_MAGIC,
	    ROTATE_STATE_VERSION, s->generation);
	for (i = 0; i < s->n_domains; i++) {
		d = &s->domains[i];
		buf_addf(out,
		    "domain %s phase=%s since=%" PRId64 " switched=%" PRId64
		    " confirmed=%" PRId64 " gen=%" PRIu64 " wait=%" PRId64 "\n",
		    d->name, rotate_phase_name(d->phase), d->since, d->switched,
		    d->confirmed, d->switch_gen, d->wait_until);
		for (j = 0; j < d->n_keys; j++) {
			k = &d->keys[j];
			buf_addf(out,
			    "key %s %s %s %s %s created=%" PRId64 " %s\n",
			    d->name, rotate_role_name(k->role),
			    dkim_key_type_name(k->type), k->selector,
			    k->owned ? "rotate" : "operator", k->created,
			    k->path != NULL ? k->path : "-");
		}
	}
}

int
rotate_state_load(const char *path, struct rotate_state *ret, struct buf *why)
{
	char *text;
	size_t len;
	int r;

	memset(ret, 0, sizeof(*ret));
	r = table_slurp(path, &text, &len);
	if (r == -ENOENT)
		return 0;
	if (r != 0) {
		buf_addf(why, "%s: %s", path, strerror(-r));
		return r;
	}
	if (len > ROTATE_STATE_BYTES) {
		free(text);
		buf_addf(
		    why, "%s: larger than %zu bytes", path, ROTATE_STATE_BYTES);
		return -EFBIG;
	}
	r = rotate_state_parse(text, len, path, ret, why);
	free(text);
	return r;
}

/* The directory of path into dir (cap bytes). */
static int
state_dir_of(const char *path, char *dir, size_t cap)
{
	const char *slash = strrchr(path, '/');

	if (slash == NULL)
		return snprintf(dir, cap, ".") >= (int)cap ? -ENAMETOOLONG : 0;
	if ((size_t)(slash - path) >= cap)
		return -ENAMETOOLONG;
	snprintf(
	    dir, cap, "%.*s", slash == path ? 1 : (int)(slash - path), path);
	return 0;
}

/* The directory of path, for the fsync that makes a rename durable. */
static int
state_sync_dir(const char *path)
{
	char dir[4096];
	int fd, r;

	if ((r = state_dir_of(path, dir, sizeof(dir))) != 0)
		return r;
	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return -errno;
	if (fsync(fd) != 0)
		r = -errno;
	close(fd);
	return r;
}

/* Written by root (rotate run by hand), a file still belongs to the
 * owner of its directory: the daemon and the timer's runs, as that user,
 * must read and replace it. */
static int
state_own(int fd, const char *path)
{
	char dir[4096];
	struct stat st;

	if (geteuid() != 0 || state_dir_of(path, dir, sizeof(dir)) != 0 ||
	    stat(dir, &st) != 0)
		return 0;
	return fchown(fd, st.st_uid, st.st_gid) == 0 ? 0 : -errno;
}

/* Write data to path atomically (temporary file beside it, fsync,
 * rename, fsync of the directory). @return 0 or -errno. */
static int
state_write_atomic(const char *path, const char *data, size_t len, mode_t mode)
{
	char tmp[4096];
	size_t off = 0;
	ssize_t n;
	int fd, r = 0;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", path, (long)getpid()) >=
	    (int)sizeof(tmp))
		return -ENAMETOOLONG;
	fd = open(
	    tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, mode);
	if (fd < 0)
		return -errno;
	r = state_own(fd, path);
	while (off < len && r == 0) {
		n = write(fd, data + off, len - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			r = n < 0 ? -errno : -EIO;
		else
			off += (size_t)n;
	}
	if (r == 0 && fsync(fd) != 0)
		r = -errno;
	if (close(fd) != 0 && r == 0)
		r = -errno;
	if (r == 0 && rename(tmp, path) != 0)
		r = -errno;
	if (r != 0) {
		unlink(tmp);
		return r;
	}
	return state_sync_dir(path);
}

int
rotate_state_save(
    const char *path, const struct rotate_state *s, struct buf *why)
{
	struct buf out;
	int r;

	size_t i, j;
	const char *path_k;

	/* a path must stay one word of its line */
	for (i = 0; i < s->n_domains; i++) {
		for (j = 0; j < s->domains[i].n_keys; j++) {
			path_k = s->domains[i].keys[j].path;
			if (path_k != NULL &&
			    strpbrk(path_k, " \t\n#") != NULL) {
				buf_addf(why,
				    "%s: key path \"%s\" holds a blank "
				    "or '#'",
				    path, path_k);
				return -EINVAL;
			}
		}
	}
	buf_init(&out, ROTATE_STATE_BYTES);
	rotate_state_format(s, &out);
	r = buf_error(&out);
	if (r == 0)
		r = state_write_atomic(path, out.data, out.len, 0640);
	if (r != 0)
		buf_addf(
		    why, "%s: cannot write the state: %s", path, strerror(-r));
	buf_free(&out);
	return r;
}

struct rotate_domain *
rotate_state_domain(struct rotate_state *s, const char *name, bool create)
{
	struct rotate_domain *d;
	size_t i;

	for (i = 0; i < s->n_domains; i++)
		if (strcasecmp(s->domains[i].name, name) == 0)
			return &s->domains[i];
	if (!create || s->n_domains == BOUND_ROTATE_DOMAINS)
		return NULL;
	d = realloc(s->domains, (s->n_domains + 1) * sizeof(*d));
	if (d == NULL)
		return NULL;
	s->domains = d;
	d = &s->domains[s->n_domains];
	memset(d, 0, sizeof(*d));
	if ((d->name = strdup(name)) == NULL)
		return NULL;
	for (i = 0; d->name[i] != '\0'; i++)
		d->name[i] = (char)tolower((unsigned char)d->name[i]);
	s->n_domains++;
	return d;
}

struct rotate_key *
rotate_state_add_key(struct rotate_domain *d, enum rotate_role role,
    enum dkim_key_type type, const char *selector, bool owned, int64_t created,
    const char *path)
{
	struct rotate_key *k;

	if (d->n_keys == BOUND_ROTATE_KEYS ||
	    strlen(selector) >= sizeof(k->selector))
		return NULL;
	k = &d->keys[d->n_keys];
	memset(k, 0, sizeof(*k));
	if (path != NULL && (k->path = strdup(path)) == NULL)
		return NULL;
	k->role = role;
	k->type = type;
	k->owned = owned;
	k->created = created;
	snprintf(k->selector, sizeof(k->selector), "%s", selector);
	d->n_keys++;
	return k;
}

void
rotate_state_free(struct rotate_state *s)
{
	size_t i, j;

	for (i = 0; i < s->n_domains; i++) {
		for (j = 0; j < s->domains[i].n_keys; j++)
			free(s->domains[i].keys[j].path);
		free(s->domains[i].name);
	}
	free(s->domains);
	memset(s, 0, sizeof(*s));
}

int
rotate_state_ack_write(const char *path, uint64_t generation, long pid)
{
	char line[64];
	int n;

	n = snprintf(
	    line, sizeof(line), "loaded %" PRIu64 " %ld\n", generation, pid);
	return state_write_atomic(path, line, (size_t)n, 0644);
}

int
rotate_state_ack_read(const char *path, uint64_t *ret_generation)
{
	char line[64], *sp, *nl;
	ssize_t n;
	int fd;

	*ret_generation = 0;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) < 0)
		return errno == ENOENT ? 0 : -errno;
	n = read(fd, line, sizeof(line) - 1);
	close(fd);
	if (n < 0)
		return -EIO;
	line[n] = '\0';
	if (strncmp(line, "loaded ", 7) != 0 ||
	    (sp = strchr(line + 7, ' ')) == NULL ||
	    (nl = strchr(sp, '\n')) == NULL)
		return -EINVAL;
	*sp = '\0';
	return state_number(line + 7, ret_generation);
}
