/*
 * test_report_state.c -- the report command's state file for the metrics
 * endpoint: good and bad content, adding runs (counters add up, times
 * replace), a broken file started again, and concurrent writers that
 * both count.
 */
#include <stdint.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "authmilter/report_state.h"
#include "check.h"

static void
test_parse(void)
{
	static const struct {
		const char *text;
		const char *why; /* NULL: parses */
		size_t len;      /* 0: strlen(text) */
	} cases[] = {
	    {"", NULL, 0},
	    {"runs 3\nreports_sent 12\nlast_run 1765000000\n", NULL, 0},
	    {"runs 1\nsomething_new 9\n", NULL, 0},
	    {"runs 18446744073709551615\n", NULL, 0},
	    {"runs 18446744073709551616\n", "a line is not \"name number\"", 0},
	    {"runs 3", "last line without a newline", 0},
	    {"runs\n", "a line is not \"name number\"", 0},
	    {"runs \n", "a line is not \"name number\"", 0},
	    {" 3\n", "a line is not \"name number\"", 0},
	    {"runs -1\n", "a line is not \"name number\"", 0},
	    {"runs 3 4\n", "a line is not \"name number\"", 0},
	    {"runs 0x10\n", "a line is not \"name number\"", 0},
	    {"\n", "a line is not \"name number\"", 0},
	    {"runs 1\0\n", "a line is not \"name number\"", 8},
	};
	struct report_state s;
	const char *why;
	size_t i;
	char big[BOUND_REPORT_STATE_BYTES + 2];

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		why = NULL;
		CHECK_INT_EQ(
		    report_state_parse(cases[i].text,
		        cases[i].len ? cases[i].len : strlen(cases[i].text), &s,
		        &why),
		    cases[i].why == NULL ? 0 : -EINVAL);
		if (cases[i].why != NULL)
			CHECK_STR_EQ(why, cases[i].why);
	}
	why = "runs 3\nreports_sent 12\nlast_run 1765000000\n";
	CHECK_INT_EQ(report_state_parse(why, strlen(why), &s, &why), 0);
	CHECK_INT_EQ(s.runs, 3);
	CHECK_INT_EQ(s.reports_sent, 12);
	CHECK_INT_EQ(s.last_run, 1765000000);
	CHECK_INT_EQ(s.runs_failed, 0);
	memset(big, '\n', sizeof(big));
	CHECK_INT_EQ(report_state_parse(big, sizeof(big), &s, &why), -EINVAL);
	CHECK_STR_EQ(why, "file too long");
}

static void
test_add(void)
{
	char dir[] = "/tmp/test_report_state.XXXXXX", path[256];
	struct report_state run = {1, 0, 4, 1, 1000, 1000}, s;
	FILE *f;
	int i, st;
	pid_t pid[4];

	if (mkdtemp(dir) == NULL) {
		CHECK(0);
		return;
	}
	snprintf(path, sizeof(path), "%s/%s", dir, REPORT_STATE_FILE);
	CHECK_INT_EQ(report_state_read(dir, &s), -ENOENT);
	CHECK_INT_EQ(report_state_add(dir, &run), 0);
	run.last_run = 2000;
	run.last_success = 0; /* this run failed: the success time stays */
	run.runs_failed = 1;
	CHECK_INT_EQ(report_state_add(dir, &run), 0);
	CHECK_INT_EQ(report_state_read(dir, &s), 0);
	CHECK_INT_EQ(s.runs, 2);
	CHECK_INT_EQ(s.runs_failed, 1);
	CHECK_INT_EQ(s.reports_sent, 8);
	CHECK_INT_EQ(s.reports_failed, 2);
	CHECK_INT_EQ(s.last_run, 2000);
	CHECK_INT_EQ(s.last_success, 1000);

	/* four processes add 25 runs each at once: none is lost */
	for (i = 0; i < 4; i++) {
		pid[i] = fork();
		if (pid[i] == 0) {
			struct report_state one = {1, 0, 1, 0, 0, 0};
			int k, bad = 0;

			for (k = 0; k < 25; k++)
				bad |= report_state_add(dir, &one) != 0;
			_exit(bad);
		}
	}
	for (i = 0; i < 4; i++) {
		CHECK(pid[i] > 0 && waitpid(pid[i], &st, 0) == pid[i]);
		CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	}
	CHECK_INT_EQ(report_state_read(dir, &s), 0);
	CHECK_INT_EQ(s.runs, 102);
	CHECK_INT_EQ(s.reports_sent, 108);

	/* a broken file: read says so, add starts again */
	f = fopen(path, "w");
	if (f != NULL) {
		fputs("runs lots\n", f);
		fclose(f);
	}
	CHECK_INT_EQ(report_state_read(dir, &s), -EINVAL);
	run = (struct report_state){1, 0, 2, 0, 3000, 3000};
	CHECK_INT_EQ(report_state_add(dir, &run), 0);
	CHECK_INT_EQ(report_state_read(dir, &s), 0);
	CHECK_INT_EQ(s.runs, 1);
	CHECK_INT_EQ(s.last_success, 3000);
	CHECK_INT_EQ(report_state_add("/nonexistent-dir", &run), -ENOENT);
	unlink(path);
	rmdir(dir);
}

int
main(void)
{
	test_parse();
	test_add();
	return check_summary("report_state");
}
