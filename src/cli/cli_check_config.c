/*
 * cli_check_config.c -- `authmilter check-config -c FILE`: load the
 * configuration with its tables and keys exactly as `run` and a SIGHUP
 * do, and say what is wrong, one "file:line: Option: reason" line per
 * problem, or give a one-line summary.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "authmilter/config.h"
#include "cli.h"

/* Every problem of one load fits: one line each. */
#define CHECK_CONFIG_ERRORS_MAX (1024 * 1024)

static void
check_config_usage(FILE *f)
{
	fprintf(f,
	    "usage: authmilter check-config [-c FILE]\n"
	    "\n"
	    "Load FILE (default " CONFIG_DEFAULT_PATH ") with its tables and "
	    "keys\n"
	    "and report every problem, without starting the milter.\n"
	    "\n"
	    "Exit status: 0 the configuration is good, 1 it is not, 2 "
	    "usage.\n");
}

static void
check_config_summary(const struct config *cfg)
{
	printf("ok: %s: %zu key%s, mode %s%s, socket %s, authserv-id %s, "
	       "%zu internal host entr%s\n",
	    cfg->path, cfg->n_keys, cfg->n_keys == 1 ? "" : "s",
	    (cfg->mode & CONFIG_MODE_SIGN) ? "s" : "",
	    (cfg->mode & CONFIG_MODE_VERIFY) ? "v" : "", cfg->socket.spec,
	    cfg->authserv_id, table_hosts_count(cfg->internal_hosts),
	    table_hosts_count(cfg->internal_hosts) == 1 ? "y" : "ies");
	if (cfg->rotate.domains.n > 0)
		printf("ok: key rotation for %zu domain%s, published %s, state "
		       "generation %llu in %s\n",
		    cfg->rotate.domains.n,
		    cfg->rotate.domains.n == 1 ? "" : "s",
		    cfg->rotate.publish == CONFIG_ROTATE_UPDATE
		        ? "by DNS UPDATE"
		        : "by hand (manual)",
		    cfg->rotate.generation, cfg->rotate.state_dir);
}

int
cli_check_config(int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"config", required_argument, NULL, 'c'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	const char *path = CONFIG_DEFAULT_PATH;
	struct config *cfg = NULL;
	struct buf errors;
	int c, r;

	while ((c = getopt_long(argc, argv, "c:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'c':
			path = optarg;
			break;
		case 'h':
			check_config_usage(stdout);
			return CLI_EXIT_OK;
		default:
			check_config_usage(stderr);
			return CLI_EXIT_USAGE;
		}
	}
	if (optind != argc) {
		check_config_usage(stderr);
		return CLI_EXIT_USAGE;
	}
	buf_init(&errors, CHECK_CONFIG_ERRORS_MAX);
	r = config_load(path, &cfg, &errors);
	if (r < 0) {
		fputs(buf_cstr(&errors), stdout);
		if (errors.len == 0)
			printf("%s: %s\n", path, strerror(-r));
		buf_free(&errors);
		return CLI_EXIT_FAIL;
	}
	check_config_summary(cfg);
	config_unref(cfg);
	buf_free(&errors);
	return CLI_EXIT_OK;
}
