/*
 * spool_claim.c -- claiming spool files by rename, marking them processed
 * or releasing them, recovering the claims of runs that are gone. See
 * spool_claim.h for the protocol.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "authmilter/spool_claim.h"

#define CLAIMED ".claimed."
#define LOCK ".claim."
#define PROCESSED "processed"
#define OLD_RETRY SPOOL_SUFFIX ".retry" /* releases of older versions */

/* Attempts at a lock file whose name nobody else holds, and at a free
 * name for a released file (each taken name costs one). */
#define LOCK_TRIES 16
#define NAME_TRIES 1000

struct claimed {
	struct spool_claimed pub;
	char *dir, *name, *path; /* owned; pub points at them */
	bool finished;
};

/* This claimer's lock in one directory: DIR/.claim.TOKEN, held with an
 * exclusive flock for as long as the claim lives. */
struct lock {
	char *dir, *path;
	char suffix[32]; /* ".claimed.TOKEN" */
	int fd;
};

struct spool_claim {
	struct spool_claim_options o;
	struct lock *locks;
	size_t nlocks;
	struct claimed *v;
	size_t n;
};

static void
warn(const struct spool_claim_options *o, const char *path, const char *why)
{
	if (o->warn != NULL)
		o->warn(o->ctx, path, 0, why);
}

/* path_of -- "DIR/NAMESUFFIX" (malloc'd), or NULL */
static char *
path_of(const char *dir, const char *name, const char *suffix)
{
	char *p;

	if (asprintf(&p, "%s/%s%s", dir, name, suffix) < 0)
		return NULL;
	return p;
}

/* warn_err -- warn of -err for path (what, if not empty, first) */
static int
warn_err(const struct spool_claim_options *o, const char *path,
    const char *what, int err)
{
	char why[4400];

	snprintf(why, sizeof(why), "%s%s%s", what, what[0] ? ": " : "",
	    strerror(-err));
	warn(o, path, why);
	return err;
}

/* move_free -- rename from to dir/name without replacing anything there:
 * when name is taken, to dir/BASE.retryN.jsonl (BASE: name without
 * ".jsonl"), a name of the same kind and period, so the records are
 * claimed again with the file's other records. *ret_to (may be NULL) is
 * the new path (malloc'd).
 * @return 0, or -errno of the rename (-ENOENT: from is gone). */
static int
move_free(const char *from, const char *dir, const char *name, char **ret_to)
{
	size_t base = strlen(name), slen = strlen(SPOOL_SUFFIX);
	char *to = NULL;
	unsigned i;
	int err = -EEXIST;

	if (base >= slen && strcmp(name + base - slen, SPOOL_SUFFIX) == 0)
		base -= slen;
	for (i = 0; i < NAME_TRIES && err == -EEXIST; i++) {
		free(to);
		if ((i == 0 ? asprintf(&to, "%s/%s", dir, name)
		            : asprintf(&to, "%s/%.*s.retry%u%s", dir, (int)base,
		                  name, i, SPOOL_SUFFIX)) < 0)
			return -ENOMEM;
		err = 0;
		if (renameat2(AT_FDCWD, from, AT_FDCWD, to, RENAME_NOREPLACE) ==
		    0)
			break;
		err = -errno;
		/* a file system without RENAME_NOREPLACE: look, then rename
		 * (the spool must be local; this is the best it allows) */
		if (err == -EINVAL)
			err = access(to, F_OK) == 0   ? -EEXIST
			      : rename(from, to) == 0 ? 0
			                              : -errno;
	}
	if (err == 0 && ret_to != NULL)
		*ret_to = to;
	else
		free(to);
	return err;
}

/* ---- recovery ---- */

/* token_pid -- a claim token of older versions was the claimer's pid */
static long
token_pid(const char *token)
{
	char *end;
	long pid = strtol(token, &end, 10);

	return token[0] >= '0' && token[0] <= '9' && *end == '\0' ? pid : 0;
}

/* claimer_gone -- whether the claimer that holds (or held) token in dir
 * is gone. When it is and its lock file is still there, *ret_fd holds
 * that lock (the caller unlinks the file and closes it), so no other
 * recovery acts on the token at the same time. */
static bool
claimer_gone(const char *dir, const char *token, int *ret_fd)
{
	char *path = path_of(dir, LOCK, token);
	long pid;
	int fd;

	*ret_fd = -1;
	if (path == NULL)
		return false;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	free(path);
	if (fd < 0) {
		/* no lock file: the claimer has finished or died, or it was
		 * an older version that named claims by its pid */
		if (errno != ENOENT)
			return false;
		pid = token_pid(token);
		return pid <= 0 || (kill((pid_t)pid, 0) != 0 && errno == ESRCH);
	}
	if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
		close(fd); /* held: the claimer lives */
		return false;
	}
	*ret_fd = fd;
	return true;
}

/* release_stale -- put dir/name (a claim of a claimer that is gone, or
 * an older version's ".retry") back under a spool name */
static void
release_stale(const char *dir, const char *name, size_t keep,
    spool_warn_fn *warn_fn, void *ctx)
{
	char *from = path_of(dir, name, ""), *orig = strndup(name, keep);
	char *to = NULL;

	if (from != NULL && orig != NULL &&
	    move_free(from, dir, orig, &to) == 0 && warn_fn != NULL)
		warn_fn(ctx, to, 0, "the claim of a run that is gone released");
	free(from);
	free(orig);
	free(to);
}

struct names {
	char **v;
	size_t n;
};

static int
names_add(struct names *l, const char *s)
{
	char **v = realloc(l->v, (l->n + 1) * sizeof(*v));

	if (v == NULL)
		return -ENOMEM;
	l->v = v;
	if ((v[l->n] = strdup(s)) == NULL)
		return -ENOMEM;
	l->n++;
	return 0;
}

static void
names_free(struct names *l)
{
	while (l->n > 0)
		free(l->v[--l->n]);
	free(l->v);
}

/* recover_token -- release the claims of token (the names in claims)
 * when its claimer is gone, and remove its lock file */
static void
recover_token(const char *dir, const char *token, const struct names *claims,
    spool_warn_fn *warn_fn, void *ctx)
{
	const char *t;
	char *lock;
	size_t i;
	int fd;

	if (!claimer_gone(dir, token, &fd))
		return;
	for (i = 0; i < claims->n; i++)
		if ((t = strstr(claims->v[i], CLAIMED)) != NULL &&
		    strcmp(t + strlen(CLAIMED), token) == 0)
			release_stale(dir, claims->v[i],
			    (size_t)(t - claims->v[i]), warn_fn, ctx);
	if (fd >= 0) { /* unlinked under the lock: see lock_dir */
		if ((lock = path_of(dir, LOCK, token)) != NULL)
			unlink(lock);
		free(lock);
		close(fd);
	}
}

int
spool_recover(const char *dir, spool_warn_fn *warn_fn, void *ctx)
{
	struct names claims = {0}, tokens = {0};
	const char *n, *t;
	struct dirent *e;
	size_t i, len, rlen = strlen(OLD_RETRY);
	DIR *d;
	int err = 0;

	if ((d = opendir(dir)) == NULL)
		return -errno;
	while (err == 0 && (e = readdir(d)) != NULL) {
		n = e->d_name;
		len = strlen(n);
		if ((t = strstr(n, CLAIMED)) != NULL)
			err = names_add(&claims, n);
		if (err == 0 && t != NULL)
			err = names_add(&tokens, t + strlen(CLAIMED));
		else if (err == 0 && strncmp(n, LOCK, strlen(LOCK)) == 0)
			err = names_add(&tokens, n + strlen(LOCK));
		else if (err == 0 && len > rlen &&
		         strcmp(n + len - rlen, OLD_RETRY) == 0)
			release_stale(
			    dir, n, len - strlen(".retry"), warn_fn, ctx);
	}
	closedir(d);
	/* a token seen twice is looked at twice; the second look finds it
	 * done */
	for (i = 0; err == 0 && i < tokens.n; i++)
		recover_token(dir, tokens.v[i], &claims, warn_fn, ctx);
	names_free(&claims);
	names_free(&tokens);
	return err;
}

/* ---- the claimer's lock ---- */

/* lock_dir -- this claim's lock in dir, made on first use: a new file
 * DIR/.claim.kXXXXXX, locked, and still the file of that name once locked
 * (a recovery that took it for a dead claimer's in between unlinked it:
 * then try another). */
static int
lock_dir(struct spool_claim *c, const char *dir, struct lock **ret)
{
	struct lock *v, *lk;
	struct stat a, b;
	size_t i;
	int fd = -1, err;

	for (i = 0; i < c->nlocks; i++)
		if (strcmp(c->locks[i].dir, dir) == 0) {
			*ret = &c->locks[i];
			return 0;
		}
	if ((v = realloc(c->locks, (c->nlocks + 1) * sizeof(*v))) == NULL)
		return -ENOMEM;
	c->locks = v;
	lk = &v[c->nlocks];
	memset(lk, 0, sizeof(*lk));
	if ((lk->dir = strdup(dir)) == NULL)
		return -ENOMEM;
	for (i = 0, err = -EAGAIN; i < LOCK_TRIES && err == -EAGAIN; i++) {
		free(lk->path);
		if ((lk->path = path_of(dir, LOCK, "kXXXXXX")) == NULL) {
			err = -ENOMEM;
			break;
		}
		if ((fd = mkostemp(lk->path, O_CLOEXEC)) < 0) {
			err = -errno;
			break;
		}
		while ((err = flock(fd, LOCK_EX)) != 0 && errno == EINTR)
			;
		if (err != 0)
			err = -errno;
		else if (fstat(fd, &a) != 0 || stat(lk->path, &b) != 0 ||
		         a.st_ino != b.st_ino || a.st_dev != b.st_dev)
			err = -EAGAIN;
		if (err != 0)
			close(fd);
	}
	if (err != 0) {
		free(lk->dir);
		free(lk->path);
		return err;
	}
	lk->fd = fd;
	snprintf(lk->suffix, sizeof(lk->suffix), CLAIMED "%s",
	    strrchr(lk->path, '.') + 1);
	c->nlocks++;
	*ret = lk;
	return 0;
}

/* ---- claiming ---- */

int
spool_claim_new(const struct spool_claim_options *o, struct spool_claim **ret)
{
	struct spool_claim *c = calloc(1, sizeof(*c));

	if (c == NULL)
		return -ENOMEM;
	c->o = *o;
	*ret = c;
	return 0;
}

/* claimable -- whether name is a file of the options' kind whose period
 * starts in [first, last], is not the current one, and ended at least
 * grace seconds ago */
static bool
claimable(
    const struct spool_claim_options *o, const char *name, time_t *ret_start)
{
	long period = spool_kind_period(o->kind);
	time_t current = o->now - o->now % period;
	enum spool_kind kind;

	return spool_name_parse(name, &kind, ret_start) && kind == o->kind &&
	       *ret_start >= o->first && *ret_start <= o->last &&
	       *ret_start < current && *ret_start + period + o->grace <= o->now;
}

static int
cmp_claimed(const void *a, const void *b)
{
	const struct spool_claimed *x = &((const struct claimed *)a)->pub;
	const struct spool_claimed *y = &((const struct claimed *)b)->pub;
	int c;

	if (x->start != y->start)
		return x->start < y->start ? -1 : 1;
	if ((c = strcmp(x->dir, y->dir)) != 0)
		return c;
	return strcmp(x->name, y->name);
}

/* add -- note name (in dir, of the period at start, now at path) as
 * claimed; path becomes the claim's */
static int
add(struct spool_claim *c, const char *dir, const char *name, char *path,
    time_t start)
{
	struct claimed *v, *k;

	if ((v = realloc(c->v, (c->n + 1) * sizeof(*v))) == NULL)
		return -ENOMEM;
	c->v = v;
	k = &v[c->n];
	memset(k, 0, sizeof(*k));
	k->dir = strdup(dir);
	k->name = strdup(name);
	if (k->dir == NULL || k->name == NULL) {
		free(k->dir);
		free(k->name);
		return -ENOMEM;
	}
	k->path = path;
	k->pub = (struct spool_claimed){k->dir, k->name, k->path, start};
	c->n++;
	return 0;
}

/* claim_one -- rename DIR/NAME to its claimed name and note it */
static int
claim_one(struct spool_claim *c, const struct lock *lk, const char *dir,
    const char *name, time_t start)
{
	char *from = path_of(dir, name, ""), *to;
	int err = 0;

	to = c->o.dry_run ? path_of(dir, name, "")
	                  : path_of(dir, name, lk->suffix);
	if (from == NULL || to == NULL)
		err = -ENOMEM;
	else if (c->o.dry_run || rename(from, to) == 0) {
		if ((err = add(c, dir, name, to, start)) == 0)
			to = NULL; /* the claim's now */
		else if (!c->o.dry_run)
			(void)rename(to, from);
	} else if (errno != ENOENT) /* ENOENT: another run has it */
		warn_err(&c->o, from, "cannot claim", -errno);
	free(from);
	free(to);
	return err;
}

int
spool_claim_dir(struct spool_claim *c, const char *dir)
{
	struct lock *lk = NULL;
	struct dirent *e;
	time_t start;
	DIR *d;
	int err = 0;

	if (!c->o.dry_run &&
	    ((err = spool_recover(dir, c->o.warn, c->o.ctx)) != 0 ||
	        (err = lock_dir(c, dir, &lk)) != 0))
		return err;
	if ((d = opendir(dir)) == NULL)
		return -errno;
	while (err == 0 && (e = readdir(d)) != NULL)
		if (claimable(&c->o, e->d_name, &start))
			err = claim_one(c, lk, dir, e->d_name, start);
	closedir(d);
	if (c->n > 1)
		qsort(c->v, c->n, sizeof(*c->v), cmp_claimed);
	return err;
}

size_t
spool_claim_count(const struct spool_claim *c)
{
	return c->n;
}

const struct spool_claimed *
spool_claim_file(const struct spool_claim *c, size_t i)
{
	return i < c->n ? &c->v[i].pub : NULL;
}

/* ---- finishing ---- */

/* finish -- move claim k to DIR/processed/ (done) or back to DIR */
static int
finish(struct spool_claim *c, struct claimed *k, bool done)
{
	char *pdir = NULL;
	int err;

	if (k->finished || c->o.dry_run) {
		k->finished = true;
		return 0;
	}
	k->finished = true;
	if (done && (pdir = path_of(k->dir, PROCESSED, "")) == NULL)
		return -ENOMEM;
	if (done && mkdir(pdir, 0750) != 0 && errno != EEXIST)
		warn_err(&c->o, pdir, "", -errno);
	if ((err = move_free(k->path, done ? pdir : k->dir, k->name, NULL)) !=
	    0)
		warn_err(&c->o, k->path,
		    done ? "cannot move it to processed/"
		         : "cannot put it back",
		    err);
	free(pdir);
	return err;
}

int
spool_claim_done(struct spool_claim *c, size_t i)
{
	return i < c->n ? finish(c, &c->v[i], true) : -EINVAL;
}

int
spool_claim_release(struct spool_claim *c, size_t i)
{
	return i < c->n ? finish(c, &c->v[i], false) : -EINVAL;
}

void
spool_claim_free(struct spool_claim *c)
{
	size_t i;

	if (c == NULL)
		return;
	for (i = 0; i < c->n; i++) {
		(void)finish(c, &c->v[i], false);
		free(c->v[i].dir);
		free(c->v[i].name);
		free(c->v[i].path);
	}
	/* every claim is finished (or failed to move, and the next run
	 * recovers it: no lock file means the claimer is gone) */
	for (i = 0; i < c->nlocks; i++) {
		unlink(c->locks[i].path);
		close(c->locks[i].fd);
		free(c->locks[i].dir);
		free(c->locks[i].path);
	}
	free(c->locks);
	free(c->v);
	free(c);
}
