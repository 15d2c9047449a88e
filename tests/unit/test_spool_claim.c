/*
 * test_spool_claim.c -- the spool claim protocol: which files a run
 * claims, done and release, several claimers at once (threads and
 * processes) never getting one file twice, and a run that dies with
 * files claimed being recovered by the next without losing a byte.
 */
#include <errno.h>
#include <dirent.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "authmilter/spool_claim.h"
#include "check.h"

#define DAY 86400
#define DAY14 1699920000 /* 2023-11-14 00:00 UTC */

static char tmpdir[256];

static void
make_dir(char *out, size_t size, const char *name)
{
	snprintf(out, size, "%s/%s", tmpdir, name);
	if (mkdir(out, 0700) != 0) {
		perror(out);
		exit(2);
	}
}

static void
write_file(const char *dir, const char *name, const char *data)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	CHECK((f = fopen(path, "w")) != NULL);
	if (f == NULL)
		return;
	fputs(data, f);
	fclose(f);
}

/* read_file -- the content of dir/name (static), or NULL */
static const char *
read_file(const char *dir, const char *name)
{
	static char data[4096];
	char path[512];
	size_t n;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if ((f = fopen(path, "r")) == NULL)
		return NULL;
	n = fread(data, 1, sizeof(data) - 1, f);
	data[n] = '\0';
	fclose(f);
	return data;
}

static bool
exists(const char *dir, const char *name)
{
	char path[512];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return access(path, F_OK) == 0;
}

/* count_names -- entries of dir whose name contains part */
static int
count_names(const char *dir, const char *part)
{
	struct dirent *e;
	DIR *d = opendir(dir);
	int n = 0;

	if (d == NULL)
		return -1;
	while ((e = readdir(d)) != NULL)
		if (strstr(e->d_name, part) != NULL)
			n++;
	closedir(d);
	return n;
}

static struct spool_claim_options
options(time_t first, time_t last, time_t now, long grace)
{
	return (struct spool_claim_options){
	    .first = first, .last = last, .now = now, .grace = grace};
}

/* claim_in -- a new claim of dir with options o, which must get want
 * files (line: the caller's, for the message). NULL only on ENOMEM. */
static struct spool_claim *
claim_in(
    const struct spool_claim_options *o, const char *dir, size_t want, int line)
{
	struct spool_claim *c = NULL;
	int err;

	if ((err = spool_claim_new(o, &c)) != 0 ||
	    (err = spool_claim_dir(c, dir)) != 0 ||
	    spool_claim_count(c) != want) {
		check_failures++;
		fprintf(stderr, "%s:%d: claim of %s: %s, %zu files, want %zu\n",
		    __FILE__, line, dir, strerror(-err),
		    c != NULL ? spool_claim_count(c) : 0, want);
	}
	check_count++;
	return c;
}

/* ---- which files ---- */

static void
test_selection(void)
{
	struct spool_claim_options o =
	    options(DAY14, DAY14 + DAY, DAY14 + DAY + 100, 50);
	const struct spool_claimed *f;
	struct spool_claim *c;
	char dir[300], claimed[700];

	make_dir(dir, sizeof(dir), "select");
	write_file(dir, "2023-11-13.a.jsonl", "13a\n"); /* before first */
	write_file(dir, "2023-11-14.b.jsonl", "14b\n");
	write_file(dir, "2023-11-14.a.jsonl", "14a\n");
	write_file(dir, "2023-11-15.a.jsonl", "15a\n"); /* today */
	write_file(dir, "notes.txt", "x\n");
	/* a live claimer's file (process 1 is init) is left alone */
	write_file(dir, "2023-11-14.c.jsonl.claimed.1", "14c\n");

	c = claim_in(&o, dir, 2, __LINE__);
	f = spool_claim_file(c, 0);
	CHECK_STR_EQ(f->name, "2023-11-14.a.jsonl");
	CHECK_STR_EQ(f->dir, dir);
	CHECK_INT_EQ(f->start, DAY14);
	CHECK(!exists(dir, f->name));
	CHECK_STR_EQ(read_file("/", f->path), "14a\n");
	snprintf(claimed, sizeof(claimed), "%s/%s", dir, f->name);
	CHECK(strncmp(f->path, claimed, strlen(claimed)) == 0);
	CHECK_STR_EQ(spool_claim_file(c, 1)->name, "2023-11-14.b.jsonl");
	CHECK(spool_claim_file(c, 2) == NULL);
	CHECK(exists(dir, "2023-11-13.a.jsonl"));
	CHECK(exists(dir, "2023-11-15.a.jsonl"));
	CHECK(exists(dir, "2023-11-14.c.jsonl.claimed.1"));

	/* done goes to processed/, release back; each once */
	CHECK_INT_EQ(spool_claim_done(c, 0), 0);
	CHECK_INT_EQ(spool_claim_release(c, 1), 0);
	CHECK_INT_EQ(spool_claim_release(c, 0), 0);
	snprintf(claimed, sizeof(claimed), "%s/processed", dir);
	CHECK_STR_EQ(read_file(claimed, "2023-11-14.a.jsonl"), "14a\n");
	CHECK(!exists(dir, "2023-11-14.a.jsonl"));
	CHECK_STR_EQ(read_file(dir, "2023-11-14.b.jsonl"), "14b\n");
	CHECK_INT_EQ(count_names(dir, ".claimed."), 1);
	spool_claim_free(c);

	/* the grace: a day that ended 100 s ago is not over for 101 s */
	o.grace = 101;
	c = claim_in(&o, dir, 0, __LINE__);
	spool_claim_free(c);

	/* a dry run lists in place and renames nothing */
	o.grace = 0;
	o.first = 0;
	o.dry_run = true;
	c = claim_in(&o, dir, 2, __LINE__);
	CHECK_STR_EQ(read_file("/", spool_claim_file(c, 0)->path), "13a\n");
	CHECK_INT_EQ(spool_claim_done(c, 0), 0);
	spool_claim_free(c);
	CHECK(exists(dir, "2023-11-13.a.jsonl"));
	CHECK(exists(dir, "2023-11-14.b.jsonl"));

	/* free releases what was neither done nor released */
	o.dry_run = false;
	c = claim_in(&o, dir, 2, __LINE__);
	CHECK(!exists(dir, "2023-11-13.a.jsonl"));
	spool_claim_free(c);
	CHECK_STR_EQ(read_file(dir, "2023-11-13.a.jsonl"), "13a\n");
	CHECK_STR_EQ(read_file(dir, "2023-11-14.b.jsonl"), "14b\n");

	/* a directory that cannot be read */
	CHECK_INT_EQ(spool_claim_new(&o, &c), 0);
	CHECK_INT_EQ(spool_claim_dir(c, "/nonexistent/spool"), -ENOENT);
	CHECK_INT_EQ(spool_claim_count(c), 0);
	spool_claim_free(c);
}

/* Kinds: a claim takes the files of its kind only, by their own period
 * (a minute for failure records). */
static void
test_kinds(void)
{
	struct spool_claim_options o = options(0, DAY14, DAY14 + DAY, 0);
	struct spool_claim *c, *agg;
	char dir[300];

	make_dir(dir, sizeof(dir), "kinds");
	write_file(dir, "2023-11-13.a.jsonl", "agg\n");
	write_file(dir, "failure.2023-11-14T22-13.a.jsonl", "f13\n");
	write_file(dir, "failure.2023-11-14T22-14.a.jsonl", "f14\n");
	write_file(dir, "failure.2023-11-14T22-15.a.jsonl", "f15\n");

	/* 22:15:05: the minute 22:14 ended 5 s ago, 22:15 is current */
	o.kind = SPOOL_FAILURE;
	o.last = DAY14 + DAY;
	o.now = 1700000000 - 20 + 125;
	o.grace = 6;
	c = claim_in(&o, dir, 1, __LINE__);
	CHECK_STR_EQ(
	    spool_claim_file(c, 0)->name, "failure.2023-11-14T22-13.a.jsonl");
	CHECK_INT_EQ(spool_claim_file(c, 0)->start, 1700000000 - 20);
	spool_claim_free(c);
	o.grace = 5;
	c = claim_in(&o, dir, 2, __LINE__);
	CHECK_STR_EQ(
	    spool_claim_file(c, 1)->name, "failure.2023-11-14T22-14.a.jsonl");
	CHECK(exists(dir, "2023-11-13.a.jsonl"));

	/* meanwhile an aggregate claim takes only the aggregate file */
	o = options(0, DAY14 + DAY, DAY14 + 2 * DAY, 0);
	agg = claim_in(&o, dir, 1, __LINE__);
	CHECK_STR_EQ(spool_claim_file(agg, 0)->name, "2023-11-13.a.jsonl");
	CHECK_INT_EQ(spool_claim_done(agg, 0), 0);
	spool_claim_free(agg);
	CHECK_INT_EQ(spool_claim_done(c, 0), 0);
	spool_claim_free(c);
	CHECK(exists(dir, "failure.2023-11-14T22-14.a.jsonl"));
	CHECK(exists(dir, "failure.2023-11-14T22-15.a.jsonl"));
	CHECK_INT_EQ(count_names(dir, ".claimed."), 0);
}

/* ---- several claimers at once ---- */

#define FILES 240
#define CLAIMERS 4

/* fill -- FILES spool files over 12 days and 20 hosts in dir */
static void
fill(const char *dir)
{
	char name[64], data[64];
	int i;

	for (i = 0; i < FILES; i++) {
		snprintf(name, sizeof(name), "2023-11-%02d.h%d.jsonl",
		    1 + i % 12, i / 12);
		snprintf(data, sizeof(data), "file %d\n", i);
		write_file(dir, name, data);
	}
}

/* file_number -- i of the file fill() wrote as name, or -1 */
static int
file_number(const char *name)
{
	int day, host;

	if (sscanf(name, "2023-11-%d.h%d.jsonl", &day, &host) != 2)
		return -1;
	return host * 12 + day - 1;
}

struct claimer {
	const char *dir;
	pthread_barrier_t *start;
	int got[FILES]; /* how often this claimer got each file */
	int err;
};

/* claim_all -- claim what dir offers, note it, mark it done */
static void
claim_all(struct claimer *w)
{
	struct spool_claim_options o = options(0, DAY14, DAY14 + DAY, 0);
	struct spool_claim *c;
	size_t i;
	int k;

	if ((w->err = spool_claim_new(&o, &c)) != 0)
		return;
	if (w->start != NULL)
		pthread_barrier_wait(w->start);
	if ((w->err = spool_claim_dir(c, w->dir)) == 0)
		for (i = 0; i < spool_claim_count(c); i++) {
			k = file_number(spool_claim_file(c, i)->name);
			if (k >= 0)
				w->got[k]++;
			else
				w->err = -EINVAL;
			if (spool_claim_done(c, i) != 0)
				w->err = -EIO;
		}
	spool_claim_free(c);
}

static void *
claimer_thread(void *arg)
{
	claim_all(arg);
	return NULL;
}

/* check_once -- every file went to exactly one of the claimers, and all
 * of them are in processed/ */
static void
check_once(const char *dir, struct claimer *w, int n)
{
	char pdir[700];
	int i, k, total, shared = 0, missed = 0;

	for (k = 0; k < FILES; k++) {
		for (total = 0, i = 0; i < n; i++)
			total += w[i].got[k];
		shared += total > 1;
		missed += total == 0;
	}
	CHECK_INT_EQ(shared, 0);
	CHECK_INT_EQ(missed, 0);
	snprintf(pdir, sizeof(pdir), "%s/processed", dir);
	CHECK_INT_EQ(count_names(pdir, ".jsonl"), FILES);
	CHECK_INT_EQ(count_names(dir, ".jsonl"), 0);
}

static void
test_threads(void)
{
	static struct claimer w[CLAIMERS];
	pthread_barrier_t start;
	pthread_t th[CLAIMERS];
	char dir[300];
	int i;

	make_dir(dir, sizeof(dir), "threads");
	fill(dir);
	pthread_barrier_init(&start, NULL, CLAIMERS);
	for (i = 0; i < CLAIMERS; i++) {
		w[i] = (struct claimer){.dir = dir, .start = &start};
		CHECK_INT_EQ(
		    pthread_create(&th[i], NULL, claimer_thread, &w[i]), 0);
	}
	for (i = 0; i < CLAIMERS; i++) {
		pthread_join(th[i], NULL);
		CHECK_INT_EQ(w[i].err, 0);
	}
	pthread_barrier_destroy(&start);
	check_once(dir, w, CLAIMERS);
}

static void
test_processes(void)
{
	static struct claimer w[CLAIMERS];
	int go[2], res[CLAIMERS][2], i, status;
	pid_t pid[CLAIMERS];
	char dir[300], b;
	ssize_t n;

	make_dir(dir, sizeof(dir), "procs");
	fill(dir);
	CHECK_INT_EQ(pipe(go), 0);
	for (i = 0; i < CLAIMERS; i++) {
		w[i] = (struct claimer){.dir = dir};
		CHECK_INT_EQ(pipe(res[i]), 0);
		if ((pid[i] = fork()) == 0) {
			close(go[1]);
			/* start together: when the parent closes the pipe */
			while (read(go[0], &b, 1) < 0 && errno == EINTR)
				;
			claim_all(&w[i]);
			n = write(res[i][1], &w[i], sizeof(w[i]));
			_exit(n == (ssize_t)sizeof(w[i]) ? 0 : 1);
		}
		CHECK(pid[i] > 0);
		close(res[i][1]);
	}
	close(go[0]);
	close(go[1]);
	for (i = 0; i < CLAIMERS; i++) {
		CHECK_INT_EQ(read(res[i][0], &w[i], sizeof(w[i])),
		    (ssize_t)sizeof(w[i]));
		close(res[i][0]);
		CHECK_INT_EQ(waitpid(pid[i], &status, 0), pid[i]);
		CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
		CHECK_INT_EQ(w[i].err, 0);
	}
	check_once(dir, w, CLAIMERS);
}

/* ---- a run that dies ---- */

/* crash -- in a child: claim every file of dir, mark the first `done`
 * of them processed, and die without finishing the others */
static void
crash(const char *dir, size_t done)
{
	struct spool_claim_options o = options(0, DAY14, DAY14 + DAY, 0);
	struct spool_claim *c;
	pid_t pid;
	size_t i;
	int status;

	if ((pid = fork()) == 0) {
		if (spool_claim_new(&o, &c) != 0 ||
		    spool_claim_dir(c, dir) != 0 ||
		    spool_claim_count(c) != FILES)
			_exit(1);
		for (i = 0; i < done; i++)
			if (spool_claim_done(c, i) != 0)
				_exit(1);
		kill(getpid(), SIGKILL);
		_exit(1);
	}
	CHECK(pid > 0);
	CHECK_INT_EQ(waitpid(pid, &status, 0), pid);
	CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
}

static unsigned long recovered;

static void
count_recovered(
    void *ctx, const char *path, unsigned long line, const char *why)
{
	recovered++;
}

static void
test_crash(void)
{
	struct spool_claim_options o = options(0, DAY14, DAY14 + DAY, 0);
	static struct claimer w[1];
	struct spool_claim *c;
	char dir[300], pdir[700], data[64];
	size_t i;
	int k, bad = 0;

	make_dir(dir, sizeof(dir), "crash");
	snprintf(pdir, sizeof(pdir), "%s/processed", dir);
	fill(dir);
	crash(dir, 0);
	CHECK_INT_EQ(count_names(dir, ".claimed."), FILES);

	/* the next run gets every file back, byte for byte */
	o.warn = count_recovered;
	CHECK_INT_EQ(spool_claim_new(&o, &c), 0);
	CHECK_INT_EQ(spool_claim_dir(c, dir), 0);
	CHECK_INT_EQ(recovered, FILES);
	CHECK_INT_EQ(spool_claim_count(c), FILES);
	for (i = 0; i < spool_claim_count(c); i++) {
		k = file_number(spool_claim_file(c, i)->name);
		snprintf(data, sizeof(data), "file %d\n", k);
		bad += k < 0 ||
		       read_file("/", spool_claim_file(c, i)->path) == NULL ||
		       strcmp(read_file("/", spool_claim_file(c, i)->path),
		           data) != 0;
	}
	CHECK_INT_EQ(bad, 0);
	spool_claim_free(c); /* released */
	CHECK_INT_EQ(count_names(dir, ".claimed."), 0);
	CHECK_INT_EQ(count_names(dir, ".claim."), 0); /* no lock left */
	CHECK_INT_EQ(count_names(dir, ".jsonl"), FILES);

	/* dying after a third was done: the next run gets the rest, and
	 * nothing that was done comes back */
	crash(dir, FILES / 3);
	CHECK_INT_EQ(count_names(pdir, ".jsonl"), FILES / 3);
	w[0] = (struct claimer){.dir = dir};
	claim_all(&w[0]);
	CHECK_INT_EQ(w[0].err, 0);
	for (k = 0, i = 0; k < FILES; k++)
		i += (size_t)w[0].got[k];
	CHECK_INT_EQ(i, FILES - FILES / 3);
	/* each file once in processed/, none twice (a second copy would
	 * have had to take another name) */
	CHECK_INT_EQ(count_names(pdir, ".jsonl"), FILES);
	CHECK_INT_EQ(count_names(pdir, ".claimed."), 0);
	CHECK_INT_EQ(count_names(dir, ".jsonl"), 0);
}

/* Recovery and finishing never replace a file: a claim that comes back
 * to a name taken meanwhile (a late append made the file anew) takes
 * another name of the same day, and both are claimed again. */
static void
test_never_replace(void)
{
	struct spool_claim_options o = options(0, DAY14, DAY14 + DAY, 0);
	struct spool_claim *c;
	char dir[300], pdir[700];
	const char *name = "2023-11-14.h.jsonl";
	pid_t pid;
	int status;

	make_dir(dir, sizeof(dir), "replace");
	snprintf(pdir, sizeof(pdir), "%s/processed", dir);
	write_file(dir, name, "old\n");
	if ((pid = fork()) == 0) {
		if (spool_claim_new(&o, &c) != 0 ||
		    spool_claim_dir(c, dir) != 0 || spool_claim_count(c) != 1)
			_exit(1);
		kill(getpid(), SIGKILL);
		_exit(1);
	}
	CHECK_INT_EQ(waitpid(pid, &status, 0), pid);
	CHECK(WIFSIGNALED(status));
	write_file(dir, name, "late\n");
	CHECK_INT_EQ(spool_recover(dir, NULL, NULL), 0);
	CHECK_STR_EQ(read_file(dir, name), "late\n");
	CHECK_STR_EQ(read_file(dir, "2023-11-14.h.retry1.jsonl"), "old\n");
	CHECK_INT_EQ(count_names(dir, ".claim"), 0);

	/* both are claimed; done with a name already in processed/ */
	mkdir(pdir, 0700);
	write_file(pdir, name, "processed before\n");
	c = claim_in(&o, dir, 2, __LINE__);
	CHECK_INT_EQ(spool_claim_done(c, 0), 0);
	CHECK_INT_EQ(spool_claim_done(c, 1), 0);
	spool_claim_free(c);
	CHECK_STR_EQ(read_file(pdir, name), "processed before\n");
	CHECK_STR_EQ(read_file(pdir, "2023-11-14.h.retry1.jsonl"), "late\n");
	CHECK_STR_EQ(
	    read_file(pdir, "2023-11-14.h.retry1.retry1.jsonl"), "old\n");
	CHECK_INT_EQ(count_names(dir, ".jsonl"), 0);

	/* a release of an older version (NAME.retry, never claimed again
	 * by it) is put back under a spool name */
	write_file(dir, "2023-11-13.h.jsonl.retry", "older\n");
	CHECK_INT_EQ(spool_recover(dir, NULL, NULL), 0);
	CHECK_STR_EQ(read_file(dir, "2023-11-13.h.jsonl"), "older\n");
}

/* Whether a claimer lives is its lock, not its process id: a lock file
 * nobody holds is a dead claimer's (whatever process has its pid now),
 * a held one a live claimer's; an older version's pid-named claim is
 * recovered when that process is gone. */
static void
test_liveness(void)
{
	struct spool_claim_options o = options(0, DAY14, DAY14 + DAY, 0);
	struct spool_claim *c;
	int go[2], ready[2], status;
	char dir[300], name[64], b;
	pid_t pid;

	make_dir(dir, sizeof(dir), "live");
	/* a dead claimer's files and unheld lock */
	write_file(dir, "2023-11-10.h.jsonl.claimed.kdead01", "d\n");
	write_file(dir, ".claim.kdead01", "");
	/* a lock file left with nothing claimed */
	write_file(dir, ".claim.kdead02", "");
	/* an older version's claim by a process that is gone */
	if ((pid = fork()) == 0)
		_exit(0);
	waitpid(pid, &status, 0);
	snprintf(
	    name, sizeof(name), "2023-11-11.h.jsonl.claimed.%ld", (long)pid);
	write_file(dir, name, "p\n");
	write_file(dir, "2023-11-12.h.jsonl", "live\n");

	/* a live claimer in another process holds 2023-11-12 */
	CHECK_INT_EQ(pipe(go), 0);
	CHECK_INT_EQ(pipe(ready), 0);
	if ((pid = fork()) == 0) {
		struct spool_claim_options co =
		    options(DAY14 - 2 * DAY, DAY14 - 2 * DAY, DAY14, 0);

		close(go[1]);
		if (spool_claim_new(&co, &c) != 0 ||
		    spool_claim_dir(c, dir) != 0 || spool_claim_count(c) != 1 ||
		    write(ready[1], "x", 1) != 1)
			_exit(1);
		while (read(go[0], &b, 1) < 0 && errno == EINTR)
			;
		kill(getpid(), SIGKILL);
		_exit(1);
	}
	close(go[0]);
	close(ready[1]);
	CHECK_INT_EQ(read(ready[0], &b, 1), 1);
	CHECK_INT_EQ(spool_recover(dir, NULL, NULL), 0);
	CHECK_STR_EQ(read_file(dir, "2023-11-10.h.jsonl"), "d\n");
	CHECK_STR_EQ(read_file(dir, "2023-11-11.h.jsonl"), "p\n");
	CHECK(!exists(dir, ".claim.kdead01"));
	CHECK(!exists(dir, ".claim.kdead02"));
	CHECK(!exists(dir, "2023-11-12.h.jsonl"));
	CHECK_INT_EQ(count_names(dir, ".claimed."), 1);
	CHECK_INT_EQ(count_names(dir, ".claim."), 1);

	/* the claimer dies: its claim comes back */
	close(go[1]);
	CHECK_INT_EQ(waitpid(pid, &status, 0), pid);
	close(ready[0]);
	c = claim_in(&o, dir, 3, __LINE__);
	CHECK_STR_EQ(read_file("/", spool_claim_file(c, 2)->path), "live\n");
	CHECK_INT_EQ(count_names(dir, ".claim."), 1); /* this claim's */
	spool_claim_free(c);
	CHECK_INT_EQ(count_names(dir, ".claim."), 0);
	CHECK_INT_EQ(count_names(dir, ".jsonl"), 3);
}

int
main(void)
{
	char cmd[300];

	snprintf(tmpdir, sizeof(tmpdir), "/tmp/test_spool_claim.XXXXXX");
	if (mkdtemp(tmpdir) == NULL) {
		perror("mkdtemp");
		return 2;
	}
	test_selection();
	test_kinds();
	test_threads();
	test_processes();
	test_crash();
	test_never_replace();
	test_liveness();
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", tmpdir);
	return check_summary("spool_claim");
}
