/*
 * cli.h -- the subcommands of the single `authmilter` binary.
 *
 * Each subcommand is one function taking (argc, argv) with argv[0] the
 * subcommand's name, returning the process exit status. Exit statuses
 * shared by every subcommand: 0 success, 2 usage or I/O error; verify
 * documents its own 1.
 */
#ifndef AUTHMILTER_CLI_H
#define AUTHMILTER_CLI_H

#define CLI_EXIT_OK 0
#define CLI_EXIT_FAIL 1
#define CLI_EXIT_USAGE 2

int cli_sign(int argc, char **argv);
int cli_verify(int argc, char **argv);
int cli_keygen(int argc, char **argv);
int cli_keycheck(int argc, char **argv);
int cli_run(int argc, char **argv);
int cli_report(int argc, char **argv);
int cli_stats(int argc, char **argv);
int cli_check_config(int argc, char **argv);
int cli_migrate(int argc, char **argv);

/* cli_read_file -- read a whole file ("-" = stdin) into malloc'd memory.
 * @return 0 and *ret_data and *ret_len (caller frees), or -errno (the error
 * has been printed as "authmilter: PATH: reason"). */
int cli_read_file(const char *path, char **ret_data, size_t *ret_len);

/* cli_report_failures -- `authmilter report --failures` (the DMARC failure
 * reports of the spool; cli_report_failures.c). */
int cli_report_failures(int argc, char **argv);

/* cli_pipe_to -- run cmd with sh -c and data (len bytes) on its standard
 * input. @return 0 when it exits 0, else -EIO or -errno. */
int cli_pipe_to(const char *cmd, const char *data, size_t len);

#endif
