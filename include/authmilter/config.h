/*
 * config.h -- the configuration file (/etc/authmilter/authmilter.conf)
 * into an immutable, reference-counted snapshot that also holds the
 * loaded tables and private keys.
 *
 * Syntax (as opendkim.conf(5)): one "Name value" per line; names are
 * case-insensitive; the value is the rest of the line with surrounding
 * whitespace removed; '#' starts a comment anywhere on a line; blank lines
 * are ignored; there is no quoting and no continuation. Booleans are
 * yes/no, true/false, on/off or 1/0 (case-insensitive). An option given
 * twice, an unknown option or a missing value is an error. Where authmilter
 * and opendkim/opendmarc share a meaning they share the name (both
 * "OnInternalError" and opendkim's "On-InternalError" are accepted).
 *
 * config_load() reads everything (tables, key files) and checks it
 * (SigningTable names present in the KeyTable, key types against
 * SignatureAlgorithm and the KeyTable, key file permissions, Mode s
 * having keys, SpoolDir writable, socket syntax), collecting every
 * problem, one line each, as "file:line: Option: reason" (table lines as
 * "table:line: reason"). This is what `authmilter check-config` prints and
 * what a SIGHUP logs before keeping the old snapshot.
 *
 * Thread rules: a loaded struct config is never modified. The daemon keeps
 * one current pointer; each connection takes a reference (config_ref) when
 * it starts and drops it (config_unref) when it ends, so SIGHUP swaps the
 * pointer and in-flight connections finish with the snapshot they began
 * with. config_ref/config_unref are atomic and may be called from any
 * thread; the last unref frees tables and keys. The per-message look-ups
 * (config_lookup.c, at the end of this header) read a snapshot without
 * locks.
 */
#ifndef AUTHMILTER_CONFIG_H
#define AUTHMILTER_CONFIG_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

#include "authmilter/arena.h"
#include "authmilter/buf.h"
#include "authmilter/canon.h"
#include "authmilter/dkim_key.h"
#include "authmilter/log.h"
#include "authmilter/table.h"

#define CONFIG_DEFAULT_PATH "/etc/authmilter/authmilter.conf"

/* DNSTimeBudget default, seconds of DNS work for one message (DKIM keys,
 * SPF, DMARC together). RFC 7208 section 4.6.4 wants at least 20 s for
 * SPF alone; 30 s leaves that and room for the policy and a key lookup,
 * and stays a tenth of Postfix's milter_content_timeout (300 s), so the
 * MTA never gives up on the milter first. */
#define CONFIG_DNS_TIME_BUDGET 30

/* Mode bits: s = sign, v = verify (opendkim's Mode). */
#define CONFIG_MODE_SIGN 0x1
#define CONFIG_MODE_VERIFY 0x2

enum config_socket_type {
	CONFIG_SOCKET_LOCAL = 0, /* local:/path, unix:/path, /path */
	CONFIG_SOCKET_INET,      /* inet:port[@host] */
	CONFIG_SOCKET_INET6,     /* inet6:port[@host] */
};

struct config_socket {
	enum config_socket_type type;
	char *spec;    /* as written, for libmilter's smfi_setconn() */
	char *path;    /* local: the socket path; else NULL */
	char *host;    /* inet/inet6: address or name; NULL = any */
	unsigned port; /* inet/inet6: 1..65535 */
};

enum config_alg {
	CONFIG_ALG_DEFAULT = 0, /* follow the key type */
	CONFIG_ALG_RSA_SHA256,
	CONFIG_ALG_ED25519_SHA256,
};

/* What to do with mail DMARC says to quarantine. */
enum config_quarantine {
	CONFIG_QUARANTINE_HOLD = 0, /* milter quarantine: Postfix hold */
	CONFIG_QUARANTINE_HEADER,   /* only the A-R header tells */
};

/* The answer to the MTA when something could not be evaluated. */
enum config_action {
	CONFIG_ACTION_ACCEPT = 0,
	CONFIG_ACTION_TEMPFAIL, /* 451 4.7.x */
	CONFIG_ACTION_REJECT,   /* 550 5.7.x */
};

enum config_orgdomain {
	CONFIG_ORGDOMAIN_TREEWALK = 0, /* RFC 9989 DNS tree walk */
	CONFIG_ORGDOMAIN_PSL,          /* Public Suffix List (libpsl) */
};

/* Signatures whose l= leaves part of the body unsigned. */
enum config_body_length {
	CONFIG_BODY_LENGTH_POLICY = 0, /* dkim=policy: not acceptable */
	CONFIG_BODY_LENGTH_ACCEPT,     /* verify as RFC 6376 says */
};

struct config_strlist {
	char **v;
	size_t n;
};

struct config_nameserver {
	char *addr;    /* IPv4 or IPv6 address, text */
	unsigned port; /* 53 unless given */
};

/* Key rotation (`authmilter rotate`, authmilter.conf(5) ROTATION). */
enum config_rotate_publish {
	CONFIG_ROTATE_MANUAL = 0, /* print the records, wait for them */
	CONFIG_ROTATE_UPDATE,     /* RFC 2136 UPDATE signed with TSIG */
};

/* A key type rotation makes. */
struct config_rotate_type {
	enum dkim_key_type type;
	unsigned bits; /* RSA modulus; 0 for Ed25519 */
};

struct config_rotate {
	struct config_strlist domains; /* RotateDomains; none: off */
	unsigned interval;             /* seconds between switches; 90 days */
	unsigned overlap;              /* old records stay; 7 days */
	unsigned ttl; /* TTL of the records published; 1 hour */
	struct config_rotate_type types[2]; /* RotateKeys; rsa-2048 */
	size_t n_types;
	char *selector; /* RotateSelector pattern; %Y%m%d-%t */
	int publish;    /* enum config_rotate_publish; manual */
	char *tsig_key; /* RotateTSIGKey file, or NULL */
	struct config_nameserver update_server; /* addr NULL: the zone's
	                                         * SOA MNAME, port 53 */
	unsigned auth_port; /* authoritative servers' port; 53 */
	bool reveal;        /* RotateReveal; no */
	char *state_dir;    /* RotateStateDir; /var/lib/authmilter/rotate */
	char *key_dir;      /* RotateKeyDir; "keys" beside the config */
	/* from the state file: the keys that sign each rotated domain, as
	 * indexes into config.keys (private: see config_rotate.h) */
	unsigned long long generation;
	size_t *key_first, *key_count; /* per domains.v[i] */
};

/* One signing key: a KeyTable line, or the Domain/Selector/KeyFile
 * shortcut (name "KeyFile"). */
struct config_key {
	char *name;        /* KeyTable key name */
	char *domain;      /* d=; "%" stands for the From domain */
	char *selector;    /* s= */
	char *path;        /* private key file */
	char *where;       /* "table:line" or "conf:line", for messages */
	enum dkim_alg alg; /* the KeyTable's, SignatureAlgorithm, or the
	                    * key type's */
	unsigned bits;     /* key size */
	struct dkim_privkey *key; /* one reference, the snapshot's */
};

/* Everything is read-only once config_load() returns. */
struct config {
	atomic_uint refs; /* private: use config_ref/config_unref */
	char *path;       /* the file this came from */

	/* daemon */
	struct config_socket socket; /* default local:/run/authmilter/
	                              * authmilter.sock */
	char *user;                  /* UserID user, NULL = stay */
	char *group;                 /* UserID :group, NULL = the user's */
	int umask;                   /* -1 = leave as inherited */
	char *socket_user;           /* unix socket owner; NULL = UserID's user,
	                              * else as created */
	char *socket_group;          /* unix socket group; NULL = MTAGroup */
	int socket_mode;             /* unix socket mode; default 0660 */
	char *mta_group;             /* the MTA's group, checked at start-up;
	                              * NULL = postfix, if the system has it */
	char *pid_file;              /* NULL = none */
	unsigned max_connections;    /* MaxConnections; 0 = from the
	                              * descriptor limit (conns.h) */
	unsigned milter_timeout;     /* MilterTimeout, seconds; 300 */
	bool syslog;                 /* default yes */
	int syslog_facility;         /* LOG_MAIL unless SyslogFacility */
	enum log_level log_level;    /* default info */

	/* what to do */
	char *authserv_id;           /* default: config_default_authserv_id() */
	unsigned mode;               /* CONFIG_MODE_*; default sv */
	struct table *key_table;     /* NULL unless KeyTable */
	struct table *signing_table; /* NULL unless SigningTable */
	bool multiple_signatures;    /* every SigningTable match; no */
	struct table_hosts *internal_hosts;     /* default 127.0.0.1, ::1 */
	struct table_hosts *external_ignore;    /* NULL = none */
	struct table_hosts *trusted_forwarders; /* NULL = none */
	struct config_strlist domains;          /* Domain shortcut */
	bool sub_domains; /* Domain covers subdomains; no */
	char *selector;   /* Selector shortcut */
	char *key_file;   /* KeyFile shortcut */

	/* signing */
	enum canon_alg canon_header;            /* default relaxed */
	enum canon_alg canon_body;              /* default simple */
	enum config_alg sign_alg;               /* default: follow the key */
	struct config_strlist sign_headers;     /* empty = signer's list */
	struct config_strlist oversign_headers; /* always has From */
	unsigned max_signatures;                /* verified per message; 8 */

	/* verifying */
	unsigned min_key_bits;  /* default 1024 (RFC 8301 section 3.2) */
	bool require_safe_keys; /* default yes */
	enum config_body_length body_length; /* default policy */
	bool required_from; /* reject network mail without a usable
	                     * From; yes */

	/* DNS */
	struct config_nameserver *nameservers; /* none: resolv.conf */
	size_t n_nameservers;
	unsigned dns_timeout;     /* seconds; default 5 */
	unsigned dns_cache_size;  /* entries; default 10000, 0 = off */
	unsigned dns_time_budget; /* seconds of DNS work per message;
	                           * CONFIG_DNS_TIME_BUDGET */

	/* policy */
	bool reject_failures; /* DMARC reject -> 550; default yes */
	enum config_quarantine quarantine;    /* default hold */
	enum config_action on_dns_error;      /* accept | tempfail */
	enum config_action on_internal_error; /* default accept */
	bool spf_reject_fail;                 /* SPF fail -> 550 at MAIL; no */
	enum config_orgdomain org_domain;     /* default treewalk */
	char *public_suffix_list;             /* NULL = libpsl's built-in */

	/* ARC (RFC 8617): the sealing key (OpenARC's Domain, Selector and
	 * KeyFile), which mail is sealed, and whose seals DMARC trusts */
	char *arc_domain;                   /* ARCDomain: d= of our sets */
	char *arc_selector;                 /* ARCSelector */
	char *arc_key_file;                 /* ARCKeyFile */
	struct dkim_privkey *arc_key;       /* loaded (RSA); NULL: no sealing */
	bool arc_seal_inbound;              /* ARCSealInbound: every verified
	                                     * message */
	struct table_hosts *arc_seal_hosts; /* ARCSealHosts: mail from
	                                     * these clients */
	struct config_strlist arc_seal_rcpt;       /* ARCSealRecipientDomains:
	                                            * mail to these domains */
	struct config_strlist trusted_arc_sealers; /* TrustedARCSealers:
	                                            * domains, ".suffix"
	                                            * for subdomains */

	/* reports */
	char *spool_dir; /* NULL = no spool */
	char *report_org_name;
	char *report_email;
	struct config_strlist no_reports_to; /* domains */

	/* failure reports (RFC 9991; failure.h, report_arf.h) */
	bool failure_reports;          /* FailureReports; no */
	bool failure_reports_on_none;  /* FailureReportsOnNone; no */
	char *failure_reports_sent_by; /* FailureReportsSentBy; NULL:
	                                * ReportEmail */
	struct config_strlist failure_reports_bcc; /* addresses */
	bool failure_reports_redact;          /* FailureReportsRedact; yes */
	unsigned failure_reports_bodies;      /* bytes of body; 0 */
	unsigned failure_rate_domain[2];      /* FailureReportsRateDomain
	                                       * COUNT, SECONDS; 1/600 */
	unsigned failure_rate_to[2];          /* FailureReportsRateTo; 5/600 */
	unsigned failure_reports_max_per_run; /* 100 */
	char *report_command;                 /* ReportCommand; NULL: sendmail
	                                       * -t -oi */

	/* key rotation */
	struct config_rotate rotate;

	/* monitoring (metrics.h) */
	char *metrics_listen; /* MetricsListen spec; NULL = off */
	struct config_strlist metrics_domains; /* broken out by domain */
	unsigned key_max_age; /* KeyMaxAge, days; 0 = no expiry */

	/* keys: the KeyTable in file order, or the one KeyFile key */
	struct config_key *keys;
	size_t n_keys;
	size_t keys_kept;        /* private keys (these and ARC's) not parsed:
	                          * from the previous snapshot or a file
	                          * named before (config_reload) */
	size_t keys_loaded;      /* private keys parsed */
	size_t *signing_key;     /* private: SigningTable entry -> keys[] */
	char **signing_identity; /* private: its signer, or NULL */
	unsigned *option_lines;  /* private: see config_option_line */
};

/* One signature to make. Pointers borrow from the snapshot, from domain
 * (as given to config_signing_keys) or from the arena. */
struct config_signer {
	const char *domain;           /* d= */
	const char *selector;         /* s= */
	const char *identity;         /* i= from the SigningTable, or NULL */
	const struct config_key *key; /* key->key signs */
	enum dkim_alg alg;
};

/* config_load -- read and check the file at path.
 * Every problem is appended to errors as one "file:line: Option: reason\n"
 * line (problems that have no line say "file: reason").
 * @return 0 and *ret_cfg (one reference; drop with config_unref); -EINVAL
 * when anything was wrong; -errno when path cannot be read. On error
 * nothing is returned and nothing leaks. */
int config_load(const char *path, struct config **ret_cfg, struct buf *errors);

/* config_reload -- as config_load, for a snapshot that follows prev (the
 * one in use; may be NULL, which is config_load). Every key file is read
 * and checked again, but a file whose bytes are those one of prev's
 * private keys was parsed from gives that key (one more reference: the
 * two snapshots share it) instead of being parsed again; a file changed
 * in any byte, or new, is parsed, once however many keys name it (as in
 * config_load). cfg->keys_kept and cfg->keys_loaded count the keys not
 * parsed and parsed. The caller holds prev for the call.
 * @return as config_load. */
int config_reload(const char *path, const struct config *prev,
    struct config **ret_cfg, struct buf *errors);

/* config_load_mem -- as config_load, from text (len bytes) that messages
 * call name. Table and key paths inside are still opened as files. */
int config_load_mem(const char *name, const char *text, size_t len,
    struct config **ret_cfg, struct buf *errors);

/* config_option_line -- the line of cfg's file that set the option name
 * (any spelling config_load accepts), for messages about it found later
 * (at start-up, say). @return the line, or 0 when it was not given. */
unsigned config_option_line(const struct config *cfg, const char *name);

/* config_default_authserv_id -- the authserv-id used without AuthservID:
 * the host's fully qualified name (the canonical name of gethostname()'s
 * answer, as `hostname --fqdn` prints it), or the host name as it is
 * when no qualified name is known. The CLI uses it as well, so verify
 * and the milter write the same header. @return a string the caller
 * frees. */
char *config_default_authserv_id(void);

/* config_nameservers -- append cfg's Nameservers to out as
 * dns_ldns_options.nameservers takes them, "ADDR@PORT ADDR@PORT..."
 * (nothing when none are configured: the resolvers of resolv.conf).
 * @return 0, or the buf's error (out then holds no part of the list). */
int config_nameservers(const struct config *cfg, struct buf *out);

/* config_ref -- take a reference. @return cfg */
struct config *config_ref(struct config *cfg);
/* config_unref -- drop a reference; the last one frees everything.
 * NULL is a no-op. @return NULL */
struct config *config_unref(struct config *cfg);

/*
 * ---- Per-message look-ups (src/core/config_lookup.c) ----
 * The milter calls these for every message, `verify` for every file.
 * They only read a loaded snapshot and take no lock: thread-safe, any
 * number of threads at once on one snapshot; they allocate only in the
 * caller's arena. Everything above runs at start-up or reload (loading,
 * config_option_line, config_default_authserv_id) or once per connection
 * (config_ref/config_unref).
 */

/* config_signing_keys -- the signatures to make on mail from
 * local@domain: from the SigningTable (every match with
 * MultipleSignatures, else the first) or the Domain/Selector/KeyFile
 * shortcut; then, for a domain key rotation manages (RotateDomains) and
 * has switched, the rotation's current keys take the place of every key
 * that signs as that domain, and sign mail from the domain itself when
 * the tables have no key for it (config_rotate.h).
 * "%" in the KeyTable domain is the From domain; "%" in the
 * SigningTable identity is replaced too (in a, the message arena). At
 * most max (<= BOUND_SIGNING_KEYS useful) signers are stored in ret.
 * @return 0 with *ret_n set (0 when nothing applies, and then *ret_why
 * says why, e.g. "no SigningTable entry for user@example.org"); -ENOMEM. */
int config_signing_keys(const struct config *cfg, const char *local,
    const char *domain, struct arena *a, struct config_signer *ret, size_t max,
    size_t *ret_n, const char **ret_why);

/* config_table_signers -- as config_signing_keys, from the operator's
 * tables (or the Domain shortcut) alone, before rotation replaces keys:
 * what signed a domain before its first rotation. */
int config_table_signers(const struct config *cfg, const char *local,
    const char *domain, struct arena *a, struct config_signer *ret, size_t max,
    size_t *ret_n, const char **ret_why);

/* Client classification (ip and hostname may be NULL when unknown). */
bool config_is_internal(
    const struct config *cfg, const struct table_ip *ip, const char *hostname);
bool config_is_external_ignored(
    const struct config *cfg, const struct table_ip *ip, const char *hostname);
bool config_is_trusted_forwarder(
    const struct config *cfg, const struct table_ip *ip, const char *hostname);
/* config_arc_seals -- whether mail from the client (ip, hostname; either
 * may be NULL) to a recipient in rcpt_domain (NULL: unknown), evaluated
 * on the verify path (verified) or not, is to be sealed: ARCSealInbound
 * (verified mail), ARCSealHosts, ARCSealRecipientDomains. False without
 * an ARC key. */
bool config_arc_seals(const struct config *cfg, const struct table_ip *ip,
    const char *hostname, const char *rcpt_domain, bool verified);

/* config_alg_name -- "rsa-sha256", "ed25519-sha256" or "default". */
const char *config_alg_name(enum config_alg alg);

#endif
