/*
 * spool_claim.h -- taking spool files out of the spool for one run of a
 * consumer (`authmilter report` for aggregate records; the sender of
 * failure reports for failure records), so that of several runs at once
 * each file goes to exactly one, and a run that dies leaves nothing the
 * next run does not pick up. The writer's side is spool.h. A claim takes
 * the files of one kind (enum spool_kind) only; consumers of different
 * kinds share a spool directory without seeing each other's files.
 *
 * The protocol, on one directory DIR (every rename stays inside DIR or
 * goes to DIR/processed/, on the same file system, so each is atomic):
 *  - a claimer first makes its lock file DIR/.claim.TOKEN (TOKEN: "k"
 *    and six random letters or digits, new for each claim and
 *    directory) and holds an exclusive flock(2) on it for as long as it
 *    lives: the lock, not a process id, says that it lives (a pid is
 *    reused; a flock ends with the process however it ends).
 *  - claim: DIR/NAME is renamed to DIR/NAME.claimed.TOKEN. Of two
 *    claimers exactly one rename succeeds; the other sees ENOENT and goes
 *    on without the file.
 *  - only files whose period is over are claimed: the start of the
 *    file's period (its UTC day for SPOOL_AGGREGATE, its minute for
 *    SPOOL_FAILURE) must lie in [first, last], the period must not be the
 *    current one, and it must have ended at least grace seconds before
 *    now. spool_append opens the file per record, so an append that
 *    opened it just before the rename lands in the claimed file; the
 *    grace leaves time for it.
 *  - done: the claimed file moves to DIR/processed/NAME; release: back to
 *    DIR/NAME. Neither ever replaces a file: when the name is taken (a
 *    late append made DIR/NAME anew) the file takes the first free
 *    DIR/BASE.retryN.jsonl (BASE: NAME without ".jsonl"), a name of the
 *    same kind and period, claimed again with the rest of its period.
 *    Then the lock file is removed.
 *  - recovery (spool_recover, and the start of every spool_claim_dir):
 *    a token whose lock file nobody holds, or that has no lock file, is
 *    a claimer that is gone: its claims are released as above, under
 *    its lock, and the lock file removed. Claims of older versions
 *    (TOKEN a process id, no lock file) are released when that process
 *    does not exist; their "NAME.retry" files are put back under a
 *    spool name.
 * So a run that dies after claiming, at any point, loses nothing: its
 * files are in the spool again at the start of the next run, whole, and
 * what it had marked done stays done.
 * A released or recovered file comes back whole. A consumer that acts on
 * what it read must make a retry harmless by itself: `report` names a
 * report after the files it was built from and keeps a ".sent" marker per
 * report, so a day released (or left claimed by a run that died) after
 * its reports went out is not sent again; a consumer that acts per record
 * keeps such a marker per record.
 *
 * Memory: a struct spool_claim owns its strings; what spool_claim_file
 * returns is valid until the next spool_claim_dir or spool_claim_free.
 * Threads: a struct spool_claim is used by one thread at a time.
 */
#ifndef AUTHMILTER_SPOOL_CLAIM_H
#define AUTHMILTER_SPOOL_CLAIM_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "authmilter/spool.h"

struct spool_claim;

struct spool_claim_options {
	enum spool_kind kind; /* claim files of this kind */
	time_t first, last;   /* whose period starts in [first, last] */
	time_t now;           /* the clock */
	long grace;           /* seconds the period must have been over */
	bool dry_run;         /* only list: rename nothing, recover nothing */
	spool_warn_fn *warn;  /* (may be NULL) hears, with line 0, of a
	                       * rename that failed and of each recovered
	                       * claim */
	void *ctx;            /* for warn */
};

/* One claimed file. */
struct spool_claimed {
	const char *dir;  /* the directory, as given to spool_claim_dir */
	const char *name; /* the file name the writer gave it */
	const char *path; /* where it is while claimed: read it there */
	time_t start;     /* the start of its period (UTC) */
};

/* spool_claim_new -- an empty claim with options o (copied).
 * @return 0 and *ret, or -ENOMEM. */
int spool_claim_new(
    const struct spool_claim_options *o, struct spool_claim **ret);

/* spool_claim_dir -- recover dir (spool_recover), take this claim's lock
 * in it, then claim every file of dir that the options select (see
 * above); a dry run only lists them. The claimed files are kept sorted
 * by start, dir and name.
 * @return 0 (files that another run took first are skipped), or the
 * -errno of opendir/readdir or of making the lock file (nothing of dir
 * claimed), -ENOMEM. */
int spool_claim_dir(struct spool_claim *c, const char *dir);

/* spool_claim_count, spool_claim_file -- the claimed files, in order;
 * i < spool_claim_count(c). */
size_t spool_claim_count(const struct spool_claim *c);
const struct spool_claimed *spool_claim_file(
    const struct spool_claim *c, size_t i);

/* spool_claim_done -- file i is processed: move it to DIR/processed/.
 * spool_claim_release -- file i goes back into the spool.
 * Each file is finished once; later calls and dry runs do nothing.
 * @return 0, or the -errno of the rename (warn has heard of it; the
 * file stays claimed until the next run recovers it). */
int spool_claim_done(struct spool_claim *c, size_t i);
int spool_claim_release(struct spool_claim *c, size_t i);

/* spool_claim_free -- release every file neither done nor released,
 * remove the lock files, and free c. NULL is a no-op. */
void spool_claim_free(struct spool_claim *c);

/* spool_recover -- release in dir every claim whose claimer is gone and
 * remove its lock file (see above); warn (may be NULL) hears of each
 * released file, with line 0.
 * @return 0, or the -errno of opendir/readdir. */
int spool_recover(const char *dir, spool_warn_fn *warn, void *ctx);

#endif
