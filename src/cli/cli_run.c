/*
 * cli_run.c -- `authmilter run -c FILE [-f]`: the milter daemon.
 *
 * It never forks: systemd (packaging/) runs it in the foreground with
 * Type=simple, and so can any supervisor. -f logs to standard error
 * instead of syslog, for running by hand and for tests.
 */
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>

#include "authmilter/config.h"
#include "cli.h"
#include "../milter/daemon.h"

static void
run_usage(FILE *f)
{
	fprintf(f,
	    "usage: authmilter run [-c FILE] [-f]\n"
	    "\n"
	    "Run the milter with the configuration FILE (default "
	    CONFIG_DEFAULT_PATH ").\n"
	    "The process stays in the foreground (for systemd); SIGHUP "
	    "reloads the\n"
	    "configuration, SIGTERM stops it after the messages in flight.\n"
	    "\n"
	    "  -c, --config FILE   configuration file\n"
	    "  -f, --foreground    log to standard error instead of syslog\n"
	    "\n"
	    "Exit status: 0 stopped by a signal, 1 could not start, 2 "
	    "usage.\n");
}

int
cli_run(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "foreground", no_argument, NULL, 'f' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *path = CONFIG_DEFAULT_PATH;
	bool foreground = false;
	int c;

	while ((c = getopt_long(argc, argv, "c:fh", longopts, NULL)) != -1) {
		switch (c) {
		case 'c':
			path = optarg;
			break;
		case 'f':
			foreground = true;
			break;
		case 'h':
			run_usage(stdout);
			return CLI_EXIT_OK;
		default:
			run_usage(stderr);
			return CLI_EXIT_USAGE;
		}
	}
	if (optind != argc) {
		run_usage(stderr);
		return CLI_EXIT_USAGE;
	}
	return daemon_run(path, foreground);
}
