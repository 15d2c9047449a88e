/*
 * report_state.h -- what `authmilter report` leaves for the metrics
 * endpoint of the daemon: one small file in the spool directory,
 * SPOOLDIR/report-state, with counters kept since the file was made and
 * the times of the last run and the last run that succeeded. The report
 * command adds its run to it (report_state_add); the daemon reads it on
 * every scrape (report_state_read) and exports it. A file rather than a
 * message to the daemon: the report runs from a timer as another
 * process, maybe while the daemon is down, and nothing is lost.
 *
 * Format: lines "name value\n", value a decimal unsigned integer (times
 * in Unix seconds); names: runs, runs_failed, reports_sent,
 * reports_failed, last_run, last_success. A name not known is skipped (a
 * later version may add some); a line that is not "name value", a number
 * that does not fit, or a file over BOUND_REPORT_STATE_BYTES is an error:
 * the reader then exports nothing from it rather than a wrong count.
 *
 * Writing: under flock() of the spool directory, so two runs at once
 * both count; a new file is written beside the old one and renamed over
 * it, so a reader sees the old or the new, never half of one.
 *
 * Thread rules: none (the file is the shared state).
 */
#ifndef AUTHMILTER_REPORT_STATE_H
#define AUTHMILTER_REPORT_STATE_H

#include <stddef.h>
#include <stdint.h>

#include "authmilter/bounds.h"

#define REPORT_STATE_FILE "report-state"

struct report_state {
	uint64_t runs;           /* report runs */
	uint64_t runs_failed;    /* runs that ended with a failure */
	uint64_t reports_sent;   /* report mails that sendmail took */
	uint64_t reports_failed; /* reports that could not be made or sent */
	uint64_t last_run;       /* Unix time; 0 = never */
	uint64_t last_success;   /* Unix time; 0 = never */
};

/* report_state_parse -- text (len bytes, any content) into *ret (zeroed
 * first). @return 0; -EINVAL with *ret_why (static text) naming the
 * line. */
int report_state_parse(const char *text, size_t len, struct report_state *ret,
    const char **ret_why);

/* report_state_read -- DIR/report-state into *ret.
 * @return 0; -ENOENT when there is none yet; -EINVAL (bad content);
 * -errno from open/read. */
int report_state_read(const char *dir, struct report_state *ret);

/* report_state_add -- add one run to DIR/report-state: the counters of
 * run are added, its last_run and last_success replace the file's when
 * not 0. @return 0 or -errno (the directory cannot be locked or
 * written). A file that does not parse is started again from run. */
int report_state_add(const char *dir, const struct report_state *run);

#endif
