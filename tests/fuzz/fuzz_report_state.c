/*
 * fuzz_report_state.c -- the report state file parser
 * (report_state_parse) on arbitrary bytes: it never reads past the
 * input, and what parses gives the same fields when parsed again from
 * the lines it would be written as.
 */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "authmilter/report_state.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct report_state s, t;
	const char *why = NULL;
	char text[512];
	int n;

	if (report_state_parse((const char *)data, size, &s, &why) != 0) {
		if (why == NULL)
			__builtin_trap();
		return 0;
	}
	n = snprintf(text, sizeof(text),
	    "runs %" PRIu64 "\nruns_failed %" PRIu64 "\nreports_sent %" PRIu64
	    "\nreports_failed %" PRIu64 "\nlast_run %" PRIu64
	    "\nlast_success %" PRIu64 "\n",
	    s.runs, s.runs_failed, s.reports_sent, s.reports_failed, s.last_run,
	    s.last_success);
	if (report_state_parse(text, (size_t)n, &t, &why) != 0 ||
	    memcmp(&s, &t, sizeof(s)) != 0)
		__builtin_trap();
	return 0;
}
