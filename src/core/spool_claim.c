/*
 * spool_claim.c -- claiming spool files by rename, marking them processed
 * or releasing them, recovering the claims of dead runs. See
 * spool_claim.h for the protocol.
 */
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "authmilter/spool_claim.h"

#define CLAIMED ".claimed."
#define PROCESSED "processed"

struct claimed {
	struct spool_claimed pub;
	char *dir, *name, *path; /* owned; pub points at them */
	bool finished;
};

struct spool_claim {
	struct spool_claim_options o;
	char suffix[32]; /* ".claimed.TOKEN" */
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

/* warn_errno -- warn of errno for path; @return -errno */
static int
warn_errno(
    const struct spool_claim_options *o, const char *path, const char *what)
{
	int err = errno;
	char why[4400];

	snprintf(why, sizeof(why), "%s%s%s", what, what[0] ? ": " : "",
	    strerror(err));
	warn(o, path, why);
	return -err;
}

int
spool_claim_new(const struct spool_claim_options *o, struct spool_claim **ret)
{
	struct spool_claim *c = calloc(1, sizeof(*c));

	if (c == NULL)
		return -ENOMEM;
	c->o = *o;
	snprintf(c->suffix, sizeof(c->suffix), CLAIMED "%ld", (long)getpid());
	*ret = c;
	return 0;
}

/* ---- recovery ---- */

/* unclaim_stale -- rename name back when its claimer is gone */
static void
unclaim_stale(
    const char *dir, const char *name, spool_warn_fn *warn_fn, void *ctx)
{
	const char *c = strstr(name, CLAIMED);
	char *orig = NULL, *from = NULL, *to = NULL, why[64];
	long pid;

	if (c == NULL || (pid = strtol(c + strlen(CLAIMED), NULL, 10)) <= 0 ||
	    kill((pid_t)pid, 0) == 0 || errno != ESRCH)
		return;
	if ((orig = strndup(name, (size_t)(c - name))) != NULL &&
	    (from = path_of(dir, name, "")) != NULL &&
	    (to = path_of(dir, orig, "")) != NULL && rename(from, to) == 0 &&
	    warn_fn != NULL) {
		snprintf(why, sizeof(why), "claim of dead process %ld released",
		    pid);
		warn_fn(ctx, to, 0, why);
	}
	free(orig);
	free(from);
	free(to);
}

int
spool_recover(const char *dir, spool_warn_fn *warn_fn, void *ctx)
{
	struct dirent *e;
	DIR *d;

	if ((d = opendir(dir)) == NULL)
		return -errno;
	while ((e = readdir(d)) != NULL)
		if (strstr(e->d_name, CLAIMED) != NULL)
			unclaim_stale(dir, e->d_name, warn_fn, ctx);
	closedir(d);
	return 0;
}

/* ---- claiming ---- */

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

/* add -- note name (in dir, of the period at start) as claimed */
static int
add(struct spool_claim *c, const char *dir, const char *name, time_t start)
{
	struct claimed *v, *k;

	if ((v = realloc(c->v, (c->n + 1) * sizeof(*v))) == NULL)
		return -ENOMEM;
	c->v = v;
	k = &v[c->n];
	memset(k, 0, sizeof(*k));
	k->dir = strdup(dir);
	k->name = strdup(name);
	k->path = path_of(dir, name, c->o.dry_run ? "" : c->suffix);
	if (k->dir == NULL || k->name == NULL || k->path == NULL) {
		free(k->dir);
		free(k->name);
		free(k->path);
		return -ENOMEM;
	}
	k->pub = (struct spool_claimed){k->dir, k->name, k->path, start};
	c->n++;
	return 0;
}

/* claim_one -- rename DIR/NAME to its claimed name and note it */
static int
claim_one(
    struct spool_claim *c, const char *dir, const char *name, time_t start)
{
	char *from = path_of(dir, name, ""),
	     *to = path_of(dir, name, c->suffix);
	int err = 0;

	if (from == NULL || to == NULL)
		err = -ENOMEM;
	else if (c->o.dry_run || rename(from, to) == 0) {
		if ((err = add(c, dir, name, start)) != 0 && !c->o.dry_run)
			(void)rename(to, from);
	} else if (errno != ENOENT) /* ENOENT: another run has it */
		warn_errno(&c->o, from, "cannot claim");
	free(from);
	free(to);
	return err;
}

int
spool_claim_dir(struct spool_claim *c, const char *dir)
{
	struct dirent *e;
	time_t start;
	DIR *d;
	int err = 0;

	if (!c->o.dry_run &&
	    (err = spool_recover(dir, c->o.warn, c->o.ctx)) != 0)
		return err;
	if ((d = opendir(dir)) == NULL)
		return -errno;
	while (err == 0 && (e = readdir(d)) != NULL)
		if (claimable(&c->o, e->d_name, &start))
			err = claim_one(c, dir, e->d_name, start);
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
	char *pdir = NULL, *to = NULL;
	int err = 0;

	if (k->finished || c->o.dry_run) {
		k->finished = true;
		return 0;
	}
	k->finished = true;
	if ((pdir = path_of(k->dir, PROCESSED, "")) == NULL)
		return -ENOMEM;
	if (done && mkdir(pdir, 0750) != 0 && errno != EEXIST)
		warn_errno(&c->o, pdir, "");
	to = done ? path_of(pdir, k->name, "") : path_of(k->dir, k->name, "");
	if (to != NULL && access(to, F_OK) == 0) { /* never overwrite */
		free(to);
		to = done ? path_of(pdir, k->name, c->suffix)
		          : path_of(k->dir, k->name, ".retry");
	}
	if (to == NULL)
		err = -ENOMEM;
	else if (rename(k->path, to) != 0) {
		char what[4200];

		snprintf(what, sizeof(what), "-> %s", to);
		err = warn_errno(&c->o, k->path, what);
	}
	free(pdir);
	free(to);
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
	free(c->v);
	free(c);
}
