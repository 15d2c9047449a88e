/*
 * test_config.c -- authmilter.conf: a complete example, the defaults, the
 * Domain/Selector/KeyFile shortcut, every option's bad value with its
 * "file:line: Option: reason", broken tables and key files, the
 * reference count, and reloads that take over the keys whose files did
 * not change. Fixtures: tests/data/config/ (keys are test-only; git does
 * not keep their 0600 mode, so main() sets it first); the reload test
 * makes its files in a temporary directory.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "authmilter/arena.h"
#include "authmilter/buf.h"
#include "authmilter/config.h"
#include "authmilter/dkim_keygen.h"
#include "authmilter/dkim_pubkey.h"
#include "check.h"

#define DATA "../data/config/"
#define ETC "/etc/authmilter/authmilter.conf"

static const char *const fixture_keys[] = {
    "example.com.rsa.private",
    "example.com.ed25519.private",
    "example.org.rsa.private",
    "p256.private",
    "rsa512.private",
    "not-a-key.private",
};

static void
protect_keys(void)
{
	char path[256];
	size_t i;

	for (i = 0; i < sizeof(fixture_keys) / sizeof(fixture_keys[0]); i++) {
		snprintf(path, sizeof(path), DATA "keys/%s", fixture_keys[i]);
		check_fixture(path);
		CHECK_INT_EQ(chmod(path, 0600), 0);
	}
}

static struct config *
load_ok(const char *path)
{
	struct config *cfg = NULL;
	struct buf err;

	buf_init(&err, 1 << 16);
	CHECK_INT_EQ(config_load(path, &cfg, &err), 0);
	CHECK_STR_EQ(buf_cstr(&err), "");
	buf_free(&err);
	return cfg;
}

static void
check_signers(const struct config *cfg, const char *local, const char *domain,
    size_t want_n, const char *want)
{
	struct arena *a = arena_new(1024);
	struct config_signer s[8];
	struct buf got;
	const char *why = NULL;
	size_t n = 99, i;

	buf_init(&got, 1024);
	CHECK_INT_EQ(
	    config_signing_keys(cfg, local, domain, a, s, 8, &n, &why), 0);
	CHECK_INT_EQ(n, want_n);
	for (i = 0; i < n && i < 8; i++)
		buf_addf(&got, "%sd=%s s=%s %s%s%s", i ? "; " : "", s[i].domain,
		    s[i].selector, dkim_alg_name(s[i].alg),
		    s[i].identity ? " i=" : "",
		    s[i].identity ? s[i].identity : "");
	if (n == 0)
		buf_adds(&got, why ? why : "(no reason)");
	CHECK_STR_EQ(buf_cstr(&got), want);
	buf_free(&got);
	arena_free(a);
}

static bool
client(const struct config *cfg,
    bool (*fn)(const struct config *, const struct table_ip *, const char *),
    const char *ip, const char *host)
{
	struct table_ip a;

	if (ip != NULL)
		CHECK_INT_EQ(table_ip_parse(ip, &a), 0);
	return fn(cfg, ip ? &a : NULL, host);
}

static void
test_full(void)
{
	struct config *cfg = load_ok(DATA "authmilter.conf");

	if (cfg == NULL)
		return;
	CHECK_INT_EQ(cfg->socket.type, CONFIG_SOCKET_INET);
	CHECK_INT_EQ(cfg->socket.port, 8891);
	CHECK_STR_EQ(cfg->socket.host, "127.0.0.1");
	CHECK_STR_EQ(cfg->socket.spec, "inet:8891@127.0.0.1");
	CHECK_INT_EQ(cfg->umask, 07);
	CHECK_STR_EQ(cfg->socket_user, "root");
	CHECK_STR_EQ(cfg->socket_group, "0");
	CHECK_INT_EQ(cfg->socket_mode, 0640);
	CHECK_STR_EQ(cfg->mta_group, "root");
	/* lines of options, also under opendkim's spelling */
	CHECK_INT_EQ(config_option_line(cfg, "socket"), 3);
	CHECK_INT_EQ(config_option_line(cfg, "MTAGroup"), 8);
	CHECK_INT_EQ(config_option_line(cfg, "OnDNSError"), 38);
	CHECK_INT_EQ(config_option_line(cfg, "On-DNSError"), 38);
	CHECK_INT_EQ(config_option_line(cfg, "Selector"), 0);
	CHECK_INT_EQ(config_option_line(cfg, "NoSuchOption"), 0);
	CHECK_STR_EQ(cfg->pid_file, "/run/authmilter/authmilter.pid");
	CHECK_INT_EQ(cfg->log_level, LOG_LVL_DEBUG);
	CHECK_STR_EQ(cfg->authserv_id, "mx.example.com");
	CHECK_INT_EQ(cfg->mode, CONFIG_MODE_SIGN | CONFIG_MODE_VERIFY);
	CHECK(cfg->multiple_signatures);
	CHECK_INT_EQ(cfg->canon_header, CANON_RELAXED);
	CHECK_INT_EQ(cfg->canon_body, CANON_RELAXED);
	CHECK_INT_EQ(cfg->oversign_headers.n, 3); /* + From */
	CHECK_STR_EQ(cfg->oversign_headers.v[2], "From");
	CHECK_INT_EQ(cfg->sign_headers.n, 6);
	CHECK_INT_EQ(cfg->min_key_bits, 2048);
	CHECK_INT_EQ(cfg->body_length, CONFIG_BODY_LENGTH_ACCEPT);
	CHECK(cfg->required_from);
	CHECK_INT_EQ(cfg->max_signatures, 4);
	CHECK_INT_EQ(cfg->n_nameservers, 3);
	if (cfg->n_nameservers == 3) {
		CHECK_STR_EQ(cfg->nameservers[0].addr, "127.0.0.1");
		CHECK_INT_EQ(cfg->nameservers[0].port, 5353);
		CHECK_STR_EQ(cfg->nameservers[1].addr, "::1");
		CHECK_INT_EQ(cfg->nameservers[1].port, 5353);
		CHECK_INT_EQ(cfg->nameservers[2].port, 53);
	}
	{
		struct buf ns;

		buf_init(&ns, 4096);
		buf_adds(&ns, "ns=");
		CHECK_INT_EQ(config_nameservers(cfg, &ns), 0);
		CHECK_STR_EQ(
		    buf_cstr(&ns), "ns=127.0.0.1@5353 ::1@5353 192.0.2.53@53");
		buf_free(&ns);
	}
	CHECK_INT_EQ(cfg->dns_timeout, 3);
	CHECK_INT_EQ(cfg->dns_cache_size, 5000);
	CHECK_INT_EQ(cfg->dns_time_budget, 12);
	CHECK(!cfg->reject_failures);
	CHECK_INT_EQ(cfg->quarantine, CONFIG_QUARANTINE_HEADER);
	CHECK_INT_EQ(cfg->on_dns_error, CONFIG_ACTION_TEMPFAIL);
	CHECK_INT_EQ(cfg->on_internal_error, CONFIG_ACTION_TEMPFAIL);
	CHECK(cfg->spf_reject_fail);
	CHECK_INT_EQ(cfg->org_domain, CONFIG_ORGDOMAIN_PSL);
	CHECK_STR_EQ(cfg->public_suffix_list, DATA "README");
	CHECK_STR_EQ(cfg->spool_dir, DATA "keys");
	CHECK_STR_EQ(cfg->report_org_name, "Example Mail Operations");
	CHECK_STR_EQ(cfg->report_email, "dmarc-reports@example.com");
	CHECK_INT_EQ(cfg->no_reports_to.n, 2);
	CHECK_INT_EQ(cfg->n_keys, 4);
	/* a first load parses every key file once: the KeyTable names
	 * example.com.rsa.private twice, and the two share one key */
	CHECK_INT_EQ(cfg->keys_loaded, 3);
	CHECK_INT_EQ(cfg->keys_kept, 1);
	if (cfg->n_keys == 4) {
		CHECK_INT_EQ(cfg->keys[0].bits, 2048);
		CHECK_INT_EQ(cfg->keys[1].alg, DKIM_ALG_ED25519_SHA256);
		CHECK_INT_EQ(cfg->keys[2].bits, 1024);
		CHECK_STR_EQ(cfg->keys[2].where, DATA "KeyTable:6");
		CHECK(cfg->keys[3].key != NULL);
		CHECK(cfg->keys[3].key == cfg->keys[0].key);
	}
	/* MultipleSignatures with refile: every pattern, in file order */
	check_signers(cfg, "joe", "example.com", 3,
	    "d=example.com s=rsa2024 rsa-sha256; "
	    "d=example.com s=ed2024 ed25519-sha256; "
	    "d=example.com s=default rsa-sha256");
	check_signers(cfg, "x", "sub.example.org", 2,
	    "d=example.org s=sel1 rsa-sha256; "
	    "d=sub.example.org s=default rsa-sha256");
	CHECK(client(cfg, config_is_internal, "192.168.1.1", NULL));
	CHECK(!client(cfg, config_is_internal, "192.168.99.1", NULL));
	CHECK(client(cfg, config_is_external_ignored, "192.0.2.9", NULL));
	CHECK(
	    client(cfg, config_is_external_ignored, NULL, "Relay.Example.NET"));
	CHECK(!client(cfg, config_is_external_ignored, "192.0.3.9", NULL));
	CHECK(client(cfg, config_is_trusted_forwarder, "198.51.100.7", NULL));
	CHECK(client(cfg, config_is_trusted_forwarder, "2001:db8:f::1", NULL));
	CHECK(!client(cfg, config_is_trusted_forwarder, "2001:db8:e::1", NULL));
	/* the snapshot outlives the loader's reference while one is held */
	CHECK(config_ref(cfg) == cfg);
	CHECK_INT_EQ(atomic_load(&cfg->refs), 2);
	CHECK(config_unref(cfg) == NULL);
	CHECK_STR_EQ(cfg->authserv_id, "mx.example.com");
	config_unref(cfg);
	CHECK(config_unref(NULL) == NULL);
}

static void
test_file_signing_table(void)
{
	static const char text[] = "KeyTable file:KeyTable\n"
	                           "SigningTable file:SigningTable\n";
	struct config *cfg = NULL;
	struct buf err;

	buf_init(&err, 4096);
	CHECK_INT_EQ(config_load_mem(DATA "inline.conf", text, sizeof(text) - 1,
	                 &cfg, &err),
	    0);
	CHECK_STR_EQ(buf_cstr(&err), "");
	if (cfg != NULL) {
		/* first match only without MultipleSignatures */
		check_signers(cfg, "joe", "example.com", 1,
		    "d=example.com s=rsa2024 rsa-sha256");
		check_signers(cfg, "boss", "Example.org", 1,
		    "d=example.org s=sel1 rsa-sha256 i=boss@example.org");
		/* "*": the "any" key with d=% and i=ops@% */
		check_signers(cfg, "x", "example.net", 1,
		    "d=example.net s=default rsa-sha256 i=ops@example.net");
	}
	config_unref(cfg);
	buf_free(&err);
}

static void
test_defaults(void)
{
	struct config *cfg = load_ok(DATA "minimal.conf");
	char host[256] = "", *fqdn = config_default_authserv_id();
	size_t n;

	if (cfg == NULL)
		return;
	gethostname(host, sizeof(host));
	n = strlen(host);
	CHECK_INT_EQ(cfg->socket.type, CONFIG_SOCKET_LOCAL);
	CHECK_STR_EQ(cfg->socket.path, "/run/authmilter/authmilter.sock");
	CHECK_INT_EQ(cfg->umask, -1);
	CHECK(cfg->socket_user == NULL);
	CHECK(cfg->socket_group == NULL);
	CHECK_INT_EQ(cfg->socket_mode, 0660);
	CHECK(cfg->mta_group == NULL);
	CHECK(cfg->syslog);
	CHECK_INT_EQ(cfg->syslog_facility, LOG_MAIL);
	CHECK_INT_EQ(cfg->log_level, LOG_LVL_INFO);
	/* the host name, qualified when the system knows how
	 * (tests/vectors/verify_cli.sh checks a qualified one) */
	CHECK_STR_EQ(cfg->authserv_id, fqdn);
	CHECK(
	    strncmp(fqdn, host, n) == 0 && (fqdn[n] == '\0' || fqdn[n] == '.'));
	free(fqdn);
	CHECK_INT_EQ(cfg->mode, CONFIG_MODE_SIGN | CONFIG_MODE_VERIFY);
	CHECK_INT_EQ(cfg->canon_header, CANON_RELAXED);
	CHECK_INT_EQ(cfg->canon_body, CANON_SIMPLE);
	CHECK_INT_EQ(cfg->sign_alg, CONFIG_ALG_DEFAULT);
	CHECK_INT_EQ(cfg->oversign_headers.n, 1);
	CHECK_INT_EQ(cfg->sign_headers.n, 0);
	CHECK_INT_EQ(cfg->min_key_bits, 1024);
	CHECK(cfg->require_safe_keys);
	CHECK_INT_EQ(cfg->body_length, CONFIG_BODY_LENGTH_POLICY);
	CHECK_INT_EQ(cfg->dns_timeout, 5);
	CHECK_INT_EQ(cfg->n_nameservers, 0);
	{
		struct buf ns;

		buf_init(&ns, 4096);
		CHECK_INT_EQ(config_nameservers(cfg, &ns), 0);
		CHECK_INT_EQ(ns.len, 0);
		buf_free(&ns);
	}
	CHECK_INT_EQ(cfg->dns_cache_size, 10000);
	CHECK_INT_EQ(cfg->dns_time_budget, 30);
	CHECK(cfg->reject_failures);
	CHECK_INT_EQ(cfg->quarantine, CONFIG_QUARANTINE_HOLD);
	CHECK_INT_EQ(cfg->on_dns_error, CONFIG_ACTION_ACCEPT);
	CHECK_INT_EQ(cfg->on_internal_error, CONFIG_ACTION_ACCEPT);
	CHECK(!cfg->spf_reject_fail);
	CHECK(cfg->required_from); /* network mail needs a From */
	CHECK(!cfg->multiple_signatures);
	CHECK_INT_EQ(cfg->org_domain, CONFIG_ORGDOMAIN_TREEWALK);
	CHECK_INT_EQ(cfg->max_signatures, 8);
	CHECK(cfg->spool_dir == NULL);
	CHECK(client(cfg, config_is_internal, "127.0.0.1", NULL));
	CHECK(client(cfg, config_is_internal, "::1", NULL));
	CHECK(!client(cfg, config_is_internal, "10.0.0.1", "localhost"));
	CHECK(!client(cfg, config_is_external_ignored, "127.0.0.1", NULL));
	CHECK(!client(cfg, config_is_trusted_forwarder, "127.0.0.1", NULL));
	check_signers(cfg, "a", "example.com", 0,
	    "no SigningTable and no Domain configured");
	config_unref(cfg);
}

static void
test_shortcut(void)
{
	struct config *cfg = load_ok(DATA "shortcut.conf");

	if (cfg == NULL)
		return;
	CHECK_INT_EQ(cfg->mode, CONFIG_MODE_SIGN);
	CHECK_INT_EQ(cfg->n_keys, 1);
	check_signers(
	    cfg, "a", "EXAMPLE.com", 1, "d=example.com s=mail ed25519-sha256");
	check_signers(cfg, "a", "mail.example.net", 1,
	    "d=example.net s=mail ed25519-sha256");
	check_signers(cfg, "a", "badexample.net", 0,
	    "Domain does not list badexample.net");
	config_unref(cfg);
}

struct bad_case {
	const char *text;
	const char *want; /* every error line */
};

static const struct bad_case bad_cases[] = {
    {"Socket inet:99999@localhost\n",
        ETC ":1: Socket: "
            "\"inet:99999@localhost\": port out of range\n"},
    {"Socket inet:0@localhost", ETC ":1: Socket: \"inet:0@localhost\": "
                                    "port out of range\n"},
    {"Socket inet:@localhost", ETC ":1: Socket: \"inet:@localhost\": "
                                   "no port\n"},
    {"Socket inet:88a", ETC ":1: Socket: \"inet:88a\": bad port\n"},
    {"Socket tcp:25", ETC ":1: Socket: \"tcp:25\": want local:/path, "
                          "inet:port@host or inet6:port@host\n"},
    {"Socket local:run/x.sock", ETC ":1: Socket: \"local:run/x.sock\": "
                                    "the socket path must be absolute\n"},
    {"Socket inet6:25@[::g]", ETC ":1: Socket: \"inet6:25@[::g]\": bad "
                                  "IPv6 address\n"},
    {"Socket inet:25@bad!host", ETC ":1: Socket: \"inet:25@bad!host\": "
                                    "bad host\n"},
    {"\n# comment\nFrobnicate yes\n", ETC ":3: Frobnicate: unknown "
                                          "option\n"},
    {"Syslog", ETC ":1: Syslog: missing value\n"},
    {"syslog maybe", ETC ":1: Syslog: \"maybe\": want yes or no\n"},
    {"Syslog yes\nSYSLOG no\n", ETC ":2: Syslog: given twice (first on "
                                    "line 1)\n"},
    {"UMask 0999", ETC ":1: UMask: \"0999\": not a number\n"},
    {"UMask 01777", ETC ":1: UMask: \"01777\": out of range (0 to "
                        "511)\n"},
    {"UserID nosuchuser-xyz", ETC ":1: UserID: \"nosuchuser-xyz\": no "
                                  "such user \"nosuchuser-xyz\"\n"},
    {"UserID root:nosuchgroup-xyz",
        ETC ":1: UserID: \"root:nosuchgroup-"
            "xyz\": no such group \"nosuchgroup-xyz\"\n"},
    {"UserID :x", ETC ":1: UserID: \":x\": want user or user:group\n"},
    {"SocketUser nosuchuser-xyz", ETC ":1: SocketUser: \"nosuchuser-xyz"
                                      "\": no such user \"nosuchuser-xyz\"\n"},
    {"SocketGroup nosuchgroup-xyz",
        ETC ":1: SocketGroup: \"nosuchgroup-"
            "xyz\": no such group \"nosuchgroup-xyz\"\n"},
    {"MTAGroup nosuchgroup-xyz", ETC ":1: MTAGroup: \"nosuchgroup-xyz\": "
                                     "no such group \"nosuchgroup-xyz\"\n"},
    {"SocketMode 0680", ETC ":1: SocketMode: \"0680\": not a number\n"},
    {"SocketMode 4770", ETC ":1: SocketMode: \"4770\": out of range (0 "
                            "to 511)\n"},
    {"SyslogFacility kern", ETC ":1: SyslogFacility: \"kern\": want "
                                "mail, daemon, user, auth or local0..local7\n"},
    {"LogLevel loud", ETC ":1: LogLevel: \"loud\": want err, warning, "
                          "notice, info or debug\n"},
    {"AuthservID mx;evil", ETC ":1: AuthservID: \"mx;evil\": not a token "
                               "(RFC 8601 section 2.5)\n"},
    {"Mode x", ETC ":1: Mode: \"x\": want s, v or sv\n"},
    {"Mode s", ETC ":1: Mode: signing (s) needs SigningTable and KeyTable, "
                   "or Domain, Selector and KeyFile\n"},
    {"Canonicalization relaxed/strict",
        ETC ":1: Canonicalization: "
            "\"relaxed/strict\": want simple or relaxed, as header/body\n"},
    {"SignatureAlgorithm rsa-sha1",
        ETC ":1: SignatureAlgorithm: "
            "\"rsa-sha1\": want rsa-sha256 or ed25519-sha256\n"},
    {"OversignHeaders To, Bad Header",
        ETC ":1: OversignHeaders: \"Bad "
            "Header\": not a header field name\n"},
    {"MinimumKeyBits 512", ETC ":1: MinimumKeyBits: \"512\": out of range "
                               "(1024 to 8192)\n"},
    {"MaxSignatures 0", ETC ":1: MaxSignatures: \"0\": out of range (1 to "
                            "64)\n"},
    {"DNSTimeout abc", ETC ":1: DNSTimeout: \"abc\": not a number\n"},
    {"DNSCacheSize -1", ETC ":1: DNSCacheSize: \"-1\": not a number\n"},
    {"DNSTimeBudget 0", ETC ":1: DNSTimeBudget: \"0\": out of range "
                            "(1 to 3600)\n"},
    {"Nameservers 1.2.3.4@99999", ETC ":1: Nameservers: \"1.2.3.4\": bad "
                                      "port\n"},
    {"Nameservers dns.example", ETC ":1: Nameservers: \"dns.example\": "
                                    "not an IP address\n"},
    {"Quarantine maybe", ETC ":1: Quarantine: \"maybe\": want hold, "
                             "header, yes or no\n"},
    {"OnInternalError discard", ETC ":1: OnInternalError: \"discard\": "
                                    "want accept, tempfail or reject\n"},
    {"On-DNSError reject", ETC ":1: OnDNSError: \"reject\": want accept "
                               "or tempfail\n"},
    {"OrgDomain guess", ETC ":1: OrgDomain: \"guess\": want treewalk or "
                            "psl\n"},
    {"BodyLengthPolicy ignore", ETC ":1: BodyLengthPolicy: \"ignore\": "
                                    "want policy or accept\n"},
    {"ReportEmail reports",
        ETC ":1: ReportEmail: \"reports\": want a "
            "bare address like dmarc-reports@example.com\n"},
    {"NoReportsTo example.com, exa mple.com",
        ETC ":1: NoReportsTo: "
            "\"exa mple.com\": not a domain name\n"},
    {"TrustedARCSealers .lists.example.net, 192.0.2.1",
        ETC ":1: TrustedARCSealers: \"192.0.2.1\": not a domain name "
            "(or .domain for its subdomains)\n"},
    {"TrustedARCSealers ..example.net",
        ETC ":1: TrustedARCSealers: \"..example.net\": not a domain name "
            "(or .domain for its subdomains)\n"},
    {"FailureReportsBcc a@example.com, <b@example.com>",
        ETC ":1: FailureReportsBcc: \"<b@example.com>\": want a "
            "bare address like dmarc-reports@example.com\n"},
    {"MetricsListen localhost:9101", ETC
        ":1: MetricsListen: "
        "\"localhost:9101\": not a numeric IP address (IPv6 in brackets)\n"},
    {"MetricsListen 127.0.0.1:0",
        ETC ":1: MetricsListen: "
            "\"127.0.0.1:0\": port must be 1 to 65535\n"},
    {"MetricsDomains example.com, a..b", ETC ":1: MetricsDomains: "
                                             "\"a..b\": not a domain name\n"},
    {"KeyMaxAge 0", ETC ":1: KeyMaxAge: \"0\": out of range (1 to 36500)\n"},
    {"SpoolDir /nonexistent-spool", ETC ":1: SpoolDir: /nonexistent-spool: "
                                        "No such file or directory\n"},
    {"SpoolDir /etc/passwd", ETC ":1: SpoolDir: /etc/passwd: not a "
                                 "directory\n"},
    {"PublicSuffixList /nonexistent.dat",
        ETC ":1: PublicSuffixList: "
            "/nonexistent.dat: No such file or directory\n"},
    {"KeyTable KeyTable\nSigningTable file:/nonexistent/ST\n", ETC
        ":1: "
        "KeyTable: \"KeyTable\": want file:PATH, refile:PATH or an absolute "
        "path\n" ETC ":2: SigningTable: /nonexistent/ST: No such file or "
        "directory\n"},
    {"InternalHosts 10.0.0.0/33, ::1",
        ETC ":1: InternalHosts: "
            "\"10.0.0.0/33\": bad prefix length\n"},
    {"TrustedForwarders file:/nonexistent/TF",
        ETC ":1: TrustedForwarders:"
            " /nonexistent/TF: No such file or directory\n"},
    {"Domain example.com\n", ETC ":1: Domain: Domain, Selector and "
                                 "KeyFile go together\n"},
    {"Mode v\nSelector s1\n", ETC ":2: Domain: Domain, Selector and "
                                  "KeyFile go together\n"},
    {"Domain exa_mple..com\n", ETC ":1: Domain: \"exa_mple..com\": not a "
                                   "domain name\n"},
    {"FailureReports yes",
        ETC ":1: FailureReports: needs SpoolDir (the "
            "milter writes failure records there)\n" ETC ":1: FailureReports: "
            "needs FailureReportsSentBy or ReportEmail (the reports' From "
            "address)\n"},
    {"FailureReportsBcc a@example.com, b@",
        ETC ":1: FailureReportsBcc: "
            "\"b@\": want a bare address like dmarc-reports@example.com\n"},
    {"FailureReportsSentBy Name <a@example.com>",
        ETC ":1: "
            "FailureReportsSentBy: \"Name <a@example.com>\": want a bare "
            "address like dmarc-reports@example.com\n"},
    {"FailureReportsRateDomain 0/600",
        ETC ":1: FailureReportsRateDomain: "
            "\"0/600\": want COUNT/PERIOD, e.g. 1/600 or 1/10m (s, m, h, d, "
            "w)\n"},
    {"FailureReportsRateTo 5 per hour",
        ETC ":1: FailureReportsRateTo: "
            "\"5 per hour\": want COUNT/PERIOD, e.g. 1/600 or 1/10m (s, m, h, "
            "d, w)\n"},
    {"FailureReportsBodies 2000000",
        ETC ":1: FailureReportsBodies: "
            "\"2000000\": out of range (0 to 1048576)\n"},
    {"FailureReportsMaxPerRun 0", ETC ":1: FailureReportsMaxPerRun: \"0\": "
                                      "out of range (1 to 1000000)\n"},
    /* every problem, not just the first */
    {"Syslog maybe\nFoo bar\nUMask 8\n",
        ETC ":1: Syslog: \"maybe\": want "
            "yes or no\n" ETC ":2: Foo: unknown option\n" ETC ":3: UMask: "
            "\"8\": not a number\n"},
};

static void
test_bad_options(void)
{
	struct config *cfg;
	struct buf err;
	size_t i;

	buf_init(&err, 1 << 16);
	for (i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
		const struct bad_case *c = &bad_cases[i];

		cfg = NULL;
		buf_reset(&err);
		CHECK_INT_EQ(
		    config_load_mem(ETC, c->text, strlen(c->text), &cfg, &err),
		    -EINVAL);
		CHECK(cfg == NULL);
		CHECK_STR_EQ(buf_cstr(&err), c->want);
	}
	buf_free(&err);
}

static void
test_long_line(void)
{
	struct config *cfg = NULL;
	struct buf text, err;
	int i;

	buf_init(&text, 1 << 16);
	buf_init(&err, 4096);
	buf_adds(&text, "ReportOrgName ");
	for (i = 0; i < 9000; i++)
		buf_addc(&text, 'x');
	buf_adds(&text, "\nSyslog yes\n");
	CHECK_INT_EQ(
	    config_load_mem(ETC, text.data, text.len, &cfg, &err), -EINVAL);
	CHECK_STR_EQ(buf_cstr(&err), ETC ":1: line too long\n");
	buf_free(&text);
	buf_free(&err);
}

static void
test_bad_tables(void)
{
	static const char text[] = "KeyTable file:KeyTable.bad\n"
	                           "SigningTable file:SigningTable.bad\n";
	struct config *cfg = NULL;
	struct buf err;

	buf_init(&err, 1 << 16);
	CHECK_INT_EQ(config_load_mem(
	                 DATA "bad.conf", text, sizeof(text) - 1, &cfg, &err),
	    -EINVAL);
	CHECK(cfg == NULL);
	CHECK_STR_EQ(buf_cstr(&err), DATA
	    "KeyTable.bad:2: want domain:selector:keyfile[:algorithm]\n" DATA
	    "KeyTable.bad:3: want domain:selector:keyfile[:algorithm]\n" DATA
	    "KeyTable.bad:4: \"rsa-sha1\": want rsa-sha256 or "
	    "ed25519-sha256\n" DATA
	    "KeyTable.bad:5: \"\": not a selector\n" DATA
	    "SigningTable.bad:1: \"rsa._domainkey.example.com\" is not in "
	    "the KeyTable\n" DATA "SigningTable.bad:2: no KeyTable name\n" DATA
	    "SigningTable.bad:3: \"no-such-key\" is not in the KeyTable\n");
	buf_free(&err);
}

/* Load the shortcut with one key file and extra lines; compare errors. */
static void
check_key(const char *keyfile, const char *extra, const char *want)
{
	struct config *cfg = NULL;
	struct buf text, err;
	int r;

	buf_init(&text, 4096);
	buf_init(&err, 4096);
	buf_addf(&text, "Domain example.com\nSelector s\nKeyFile %s\n%s",
	    keyfile, extra);
	r = config_load_mem(DATA "k.conf", text.data, text.len, &cfg, &err);
	CHECK_INT_EQ(r, want[0] ? -EINVAL : 0);
	CHECK_STR_EQ(buf_cstr(&err), want);
	config_unref(cfg);
	buf_free(&text);
	buf_free(&err);
}

static void
test_keys(void)
{
	char dir[] = "/tmp/test_config.XXXXXX", path[64], cmd[256];

	check_key("keys/p256.private", "",
	    DATA
	    "k.conf:3: KeyFile: " DATA
	    "keys/p256.private: unsupported key type (not RSA or Ed25519)\n");
	check_key("keys/rsa512.private", "",
	    DATA "k.conf:3: KeyFile: " DATA
	         "keys/rsa512.private: RSA key of 512 bits (allowed: 1024 to "
	         "8192)\n");
	check_key("keys/not-a-key.private", "",
	    DATA
	    "k.conf:3: KeyFile: " DATA
	    "keys/not-a-key.private: not a PEM private key or Ed25519 seed (or "
	    "encrypted)\n");
	check_key("keys/missing.private", "",
	    DATA "k.conf:3: KeyFile: " DATA
	         "keys/missing.private: No such file or directory\n");
	check_key("keys", "",
	    DATA "k.conf:3: KeyFile: " DATA "keys: not a "
	         "regular file\n");
	check_key("keys/example.com.ed25519.private",
	    "SignatureAlgorithm rsa-sha256\n",
	    DATA "k.conf:3: KeyFile: " DATA
	         "keys/example.com.ed25519.private: an Ed25519 key cannot sign "
	         "rsa-sha256\n");
	check_key("keys/example.com.rsa.private",
	    "SignatureAlgorithm ed25519-sha256\n",
	    DATA "k.conf:3: KeyFile: " DATA
	         "keys/example.com.rsa.private: an RSA key cannot sign "
	         "ed25519-sha256\n");
	check_key("keys/example.com.rsa.private", "SigningTable /x\n",
	    DATA "k.conf:4: SigningTable: /x: No such file or directory\n" DATA
	         "k.conf:1: Domain: use either Domain, Selector and KeyFile "
	         "or SigningTable and KeyTable, not both\n");
	/* a world-readable key is refused unless RequireSafeKeys no */
	if (mkdtemp(dir) == NULL) {
		CHECK(0);
		return;
	}
	snprintf(path, sizeof(path), "%s/k.private", dir);
	snprintf(cmd, sizeof(cmd),
	    "cp " DATA "keys/example.com.rsa.private "
	    "%s && chmod 0644 %s",
	    path, path);
	CHECK_INT_EQ(system(cmd), 0);
	{
		char want[512];

		snprintf(want, sizeof(want),
		    DATA
		    "k.conf:3: KeyFile: %s: key "
		    "file is accessible by group or others (mode 0644); chmod "
		    "600 it, or set RequireSafeKeys no\n",
		    path);
		check_key(path, "", want);
		check_key(path, "RequireSafeKeys no\n", "");
	}
	unlink(path);
	rmdir(dir);
}

/* ---- reloads: keys whose files did not change are taken over ---- */

/* len bytes into dir/name, mode 0600, keeping the file's times when it
 * was there (so only its content tells that it changed). */
static void
put_file(const char *dir, const char *name, const char *data, size_t len)
{
	struct timespec times[2];
	char path[512];
	struct stat st;
	bool had;
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	had = stat(path, &st) == 0;
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	CHECK(fd >= 0);
	if (fd < 0)
		return;
	CHECK_INT_EQ(write(fd, data, len), len);
	if (had) {
		times[0] = st.st_atim;
		times[1] = st.st_mtim;
		CHECK_INT_EQ(futimens(fd, times), 0);
	}
	close(fd);
}

/* The fixture key tests/data/config/keys/fixture as dir/name. */
static void
put_fixture_key(const char *dir, const char *name, const char *fixture)
{
	char path[256], data[8192];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), DATA "keys/%s", fixture);
	fd = open(path, O_RDONLY);
	CHECK(fd >= 0);
	if (fd < 0)
		return;
	n = read(fd, data, sizeof(data));
	close(fd);
	CHECK(n > 0);
	if (n > 0)
		put_file(dir, name, data, (size_t)n);
}

/* Whether k signs what the public half of the private key in pem
 * verifies. */
static bool
signs_as(const struct dkim_privkey *k, const struct buf *pem)
{
	struct dkim_privkey *want = NULL;
	struct dkim_pubkey *pub = NULL;
	uint8_t digest[DKIM_DIGEST_LEN], sig[DKIM_SIG_MAX];
	struct buf rec;
	size_t siglen = 0;
	bool ok = false;

	memset(digest, 0x5a, sizeof(digest));
	buf_init(&rec, 4096);
	if (dkim_privkey_parse(pem->data, pem->len, &want, NULL) == 0 &&
	    dkim_privkey_record(want, &rec) == 0 &&
	    dkim_pubkey_parse(rec.data, rec.len, 0, &pub, NULL) == 0 &&
	    dkim_privkey_sign(k, digest, sig, &siglen) == 0)
		ok = dkim_pubkey_verify(
		         pub, dkim_privkey_alg(k), digest, sig, siglen) == 0;
	dkim_pubkey_unref(pub);
	dkim_privkey_unref(want);
	buf_free(&rec);
	return ok;
}

static struct config *
reload_ok(const char *path, const struct config *prev)
{
	struct config *cfg = NULL;
	struct buf err;

	buf_init(&err, 1 << 16);
	CHECK_INT_EQ(config_reload(path, prev, &cfg, &err), 0);
	CHECK_STR_EQ(buf_cstr(&err), "");
	buf_free(&err);
	return cfg;
}

/* Three KeyTable keys and the ARC key; reloaded as they are (every key
 * taken over), after one file got another key with the same times (that
 * key parsed, the others taken over, the old snapshot still signing with
 * the old key), and with a file gone (the reload fails). */
static void
test_reload_keys(void)
{
	char dir[] = "/tmp/test_config_reload.XXXXXX", conf[128], text[1024];
	struct config *c1, *c2, *c3, *c4 = NULL;
	struct buf pem_arc, pem_new, err;
	size_t i;

	if (mkdtemp(dir) == NULL) {
		CHECK(0);
		return;
	}
	buf_init(&pem_arc, 16384);
	buf_init(&pem_new, 16384);
	buf_init(&err, 1 << 16);
	CHECK_INT_EQ(dkim_keygen_pem(DKIM_KEY_RSA, 1024, &pem_arc), 0);
	CHECK_INT_EQ(dkim_keygen_pem(DKIM_KEY_RSA, 1024, &pem_new), 0);
	put_fixture_key(dir, "a.private", "example.com.rsa.private");
	put_fixture_key(dir, "b.private", "example.org.rsa.private");
	put_fixture_key(dir, "c.private", "example.com.ed25519.private");
	put_file(dir, "arc.private", pem_arc.data, pem_arc.len);
	snprintf(text, sizeof(text),
	    "a example.com:a:a.private\n"
	    "b example.org:b:b.private\n"
	    "c example.net:c:c.private\n");
	put_file(dir, "KeyTable", text, strlen(text));
	snprintf(text, sizeof(text),
	    "example.com a\nexample.org b\n"
	    "example.net c\n");
	put_file(dir, "SigningTable", text, strlen(text));
	snprintf(text, sizeof(text),
	    "KeyTable file:%s/KeyTable\nSigningTable file:%s/SigningTable\n"
	    "ARCDomain example.com\nARCSelector arc\n"
	    "ARCKeyFile %s/arc.private\nARCSealInbound yes\n",
	    dir, dir, dir);
	snprintf(conf, sizeof(conf), "%s/authmilter.conf", dir);
	put_file(dir, "authmilter.conf", text, strlen(text));

	c1 = reload_ok(conf, NULL);
	if (c1 == NULL)
		goto out;
	CHECK_INT_EQ(c1->n_keys, 3);
	CHECK_INT_EQ(c1->keys_loaded, 4);
	CHECK_INT_EQ(c1->keys_kept, 0);
	/* the same files: the same key objects */
	c2 = reload_ok(conf, c1);
	if (c2 == NULL)
		goto out1;
	CHECK_INT_EQ(c2->keys_loaded, 0);
	CHECK_INT_EQ(c2->keys_kept, 4);
	for (i = 0; i < 3 && i < c2->n_keys; i++)
		CHECK(c2->keys[i].key == c1->keys[i].key);
	CHECK(c2->arc_key == c1->arc_key);
	CHECK(signs_as(c2->arc_key, &pem_arc));
	/* the first snapshot goes; the keys stay with the second */
	c1 = config_unref(c1);
	CHECK(signs_as(c2->arc_key, &pem_arc));

	/* another key in b.private, the file's times as they were */
	put_file(dir, "b.private", pem_new.data, pem_new.len);
	c3 = reload_ok(conf, c2);
	if (c3 == NULL)
		goto out2;
	CHECK_INT_EQ(c3->keys_loaded, 1);
	CHECK_INT_EQ(c3->keys_kept, 3);
	CHECK(c3->keys[0].key == c2->keys[0].key);
	CHECK(c3->keys[1].key != c2->keys[1].key);
	CHECK(c3->keys[2].key == c2->keys[2].key);
	CHECK(c3->arc_key == c2->arc_key);
	CHECK(signs_as(c3->keys[1].key, &pem_new));
	/* the old snapshot, still held, signs with the key it had */
	CHECK(!signs_as(c2->keys[1].key, &pem_new));
	CHECK_STR_EQ(c3->keys[1].selector, "b");

	/* a key file gone: the reload fails as a load would */
	snprintf(text, sizeof(text), "%s/c.private", dir);
	CHECK_INT_EQ(unlink(text), 0);
	CHECK_INT_EQ(config_reload(conf, c3, &c4, &err), -EINVAL);
	CHECK(c4 == NULL);
	CHECK(strstr(buf_cstr(&err), "c.private: No such file or "
	                             "directory") != NULL);
	/* and the snapshot in use keeps its keys */
	CHECK(signs_as(c3->keys[1].key, &pem_new));
	config_unref(c3);
out2:
	config_unref(c2);
out1:
	config_unref(c1);
out:
	snprintf(text, sizeof(text), "rm -rf %s", dir);
	CHECK_INT_EQ(system(text), 0);
	buf_free(&pem_arc);
	buf_free(&pem_new);
	buf_free(&err);
}

static void
test_missing_file(void)
{
	struct config *cfg = NULL;
	struct buf err;

	buf_init(&err, 4096);
	CHECK_INT_EQ(config_load(DATA "nonexistent.conf", &cfg, &err), -ENOENT);
	CHECK(cfg == NULL);
	CHECK_STR_EQ(buf_cstr(&err),
	    DATA "nonexistent.conf: No such file or directory\n");
	buf_free(&err);
}

int
main(void)
{
	static const char *const files[] = {"authmilter.conf", "minimal.conf",
	    "shortcut.conf", "KeyTable", "SigningTable", "SigningTable.re",
	    "InternalHosts", "KeyTable.bad", "SigningTable.bad", "README"};
	char path[256];
	size_t i;

	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(path, sizeof(path), DATA "%s", files[i]);
		check_fixture(path);
	}
	protect_keys();
	test_full();
	test_file_signing_table();
	test_defaults();
	test_shortcut();
	test_bad_options();
	test_long_line();
	test_bad_tables();
	test_keys();
	test_reload_keys();
	test_missing_file();
	return check_summary("config");
}
