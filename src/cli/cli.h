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

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "authmilter/buf.h"

#define CLI_EXIT_OK 0
#define CLI_EXIT_FAIL 1
#define CLI_EXIT_USAGE 2

int cli_sign(int argc, char **argv);
int cli_seal(int argc, char **argv);
int cli_verify(int argc, char **argv);
int cli_keygen(int argc, char **argv);
int cli_keycheck(int argc, char **argv);
int cli_run(int argc, char **argv);
int cli_report(int argc, char **argv);
int cli_stats(int argc, char **argv);
int cli_check_config(int argc, char **argv);
int cli_migrate(int argc, char **argv);
int cli_rotate(int argc, char **argv);

/* cli_read_file -- read a whole file ("-" = stdin) into malloc'd memory.
 * @return 0 and *ret_data and *ret_len (caller frees), or -errno (the error
 * has been printed as "authmilter: PATH: reason"). */
int cli_read_file(const char *path, char **ret_data, size_t *ret_len);

/* cli_report_failures -- `authmilter report --failures` (the DMARC failure
 * reports of the spool; cli_report_failures.c). */
int cli_report_failures(int argc, char **argv);

struct config;
struct dns_resolver;
struct orgdomain;
struct orgdomain_options;

/* cli_orgdomain_of -- the organizational domain of domain into ret, as the
 * milter finds it (od over dns; cli_report.c); the domain itself when the
 * lookup found none. @return 0, or -errno. */
int cli_orgdomain_of(struct orgdomain *od, struct dns_resolver *dns,
    const char *domain, struct buf *ret);

/* cli_report_lookups -- what the report commands take from c unless the
 * command line said it: OrgDomain and PublicSuffixList into org, the
 * first of Nameservers into *ns (a static buffer). */
void cli_report_lookups(
    const struct config *c, struct orgdomain_options *org, const char **ns);

/* cli_pipe_to -- run cmd with sh -c and data (len bytes) on its standard
 * input. @return 0 when it exits 0, else -EIO or -errno. */
int cli_pipe_to(const char *cmd, const char *data, size_t len);

/* cli_lf_only -- whether data (len bytes) ends its first line with a bare
 * LF: output then keeps that form. */
bool cli_lf_only(const char *data, size_t len);

/* cli_print_field -- print "name:value" and a line end to stdout, the
 * CRLF folds of value turned into LF when lf. */
void cli_print_field(const char *name, const char *value, bool lf);

struct arena;

/* cli_split_names -- a comma list (split in place) into a NULL-terminated
 * array of names in arena a. @return it and *ret_n, or NULL (ENOMEM). */
const char **cli_split_names(struct arena *a, char *list, size_t *ret_n);

struct dns_resolver;

/* cli_resolver -- the resolver of verify and seal: the zone files (when
 * nzones > 0), or a stub resolver (nameserver "IP[@PORT]", NULL for
 * /etc/resolv.conf) behind a cache. @return it (dns_resolver_free), or
 * NULL with the reason printed. */
struct dns_resolver *cli_resolver(
    char **zones, size_t nzones, const char *nameserver);

/* cli_write_new -- create path with mode (never following a symbolic
 * link; with replace an existing file is removed first, so the new one
 * still gets mode from creation on), write len bytes, give it to
 * uid/gid unless both are -1, fsync, close. On failure nothing is left.
 * @return 0, or -errno with "PATH: reason" appended to why. */
int cli_write_new(const char *path, const void *data, size_t len, mode_t mode,
    bool replace, uid_t uid, gid_t gid, struct buf *why);

#endif
