/*
 * test_config_rotate.c -- the key rotation part of authmilter.conf: the
 * Rotate* options and their cross-checks ("file:line: Option: reason"),
 * the TSIG key file's permissions and syntax, the state file's current
 * keys taking the place of the tables' keys for their domain (and only
 * theirs), the daemon's acknowledgement, reloads taking over the keys
 * whose files did not change. Keys are made fresh in a temporary
 * directory.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "authmilter/arena.h"
#include "authmilter/config_rotate.h"
#include "authmilter/dkim_keygen.h"
#include "authmilter/rotate.h"
#include "check.h"

#define SECRET "QmFzZTY0IG9mIGEgdGhpcnR5LXR3byBieXRlIGtleSEh"

static char dir[] = "/tmp/test_config_rotate.XXXXXX";

static void
put(const char *name, const char *text, mode_t mode)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	unlink(path);
	f = fopen(path, "w");
	if (f == NULL) {
		CHECK(0);
		return;
	}
	fputs(text, f);
	fclose(f);
	chmod(path, mode);
}

static void
make_key(const char *name, enum dkim_key_type type)
{
	struct buf pem;

	buf_init(&pem, 65536);
	CHECK_INT_EQ(dkim_keygen_pem(type, 2048, &pem), 0);
	put(name, buf_cstr(&pem), 0600);
	buf_free(&pem);
}

/* The state: example.com and example.net switched, example.com to the
 * RSA key rsa (a selector and its file rsa.private) and e1. */
static void
put_state(const char *rsa)
{
	char text[4096];

	snprintf(text, sizeof(text),
	    "authmilter-rotate 1\ngeneration 5\n"
	    "domain example.com phase=switched since=10 switched=10 "
	    "confirmed=0 gen=5 wait=0\n"
	    "key example.com current rsa %s rotate created=1 %s/%s.private\n"
	    "key example.com current ed25519 e1 rotate created=1 "
	    "%s/e1.private\n"
	    "key example.com old rsa op operator created=0 -\n"
	    "domain example.net phase=idle since=10 switched=10 "
	    "confirmed=10 gen=3 wait=0\n"
	    "key example.net current rsa r1 rotate created=1 %s/r1.private\n",
	    rsa, dir, rsa, dir, dir);
	put("state/state", text, 0640);
}

/* The fixture: the operator's tables (example.com and example.org), a
 * TSIG key, a state in which example.com and example.net switched to
 * rotation's keys. */
static void
setup(void)
{
	char text[4096];

	CHECK(mkdtemp(dir) != NULL);
	make_key("op.private", DKIM_KEY_RSA);
	make_key("r1.private", DKIM_KEY_RSA);
	make_key("e1.private", DKIM_KEY_ED25519);
	snprintf(text, sizeof(text),
	    "op._domainkey.example.com example.com:op:%s/op.private\n"
	    "org._domainkey.example.org example.org:org:%s/op.private\n"
	    "ed._domainkey.example.com example.com:ed:%s/e1.private\n",
	    dir, dir, dir);
	put("KeyTable", text, 0644);
	put("SigningTable",
	    "*@example.com op._domainkey.example.com\n"
	    "*@example.com ed._domainkey.example.com\n"
	    "*@example.org org._domainkey.example.org\n",
	    0644);
	put("tsig.key",
	    "key \"u\" { algorithm hmac-sha256; secret \"" SECRET "\"; };\n",
	    0600);
	CHECK_INT_EQ(mkdir(strcat(strcpy(text, dir), "/state"), 0700), 0);
	CHECK_INT_EQ(mkdir(strcat(strcpy(text, dir), "/keys"), 0700), 0);
	put_state("r1");
}

/* The configuration: the base lines (but those extra sets itself), then
 * extra, into text. */
static void
conf_text(const char *extra, struct buf *text)
{
	const char *base[6][2] = {
	    {"KeyTable", "file:%s/KeyTable"},
	    {"SigningTable", "refile:%s/SigningTable"},
	    {"MultipleSignatures", "yes"},
	    {"PidFile", "%s/pid"},
	    {"RotateStateDir", "%s/state"},
	    {"RotateKeyDir", "%s/keys"},
	};
	size_t i;

	for (i = 0; i < 6; i++) {
		if (strstr(extra, base[i][0]) != NULL)
			continue;
		buf_addf(text, "%s ", base[i][0]);
		buf_addf(text, base[i][1], dir);
		buf_addc(text, '\n');
	}
	buf_adds(text, extra);
}

/* The configuration conf_text makes, loaded. */
static int
load(const char *extra, struct config **ret, struct buf *err)
{
	char name[512];
	struct buf text;
	int r;

	buf_init(&text, 65536);
	conf_text(extra, &text);
	snprintf(name, sizeof(name), "%s/authmilter.conf", dir);
	*ret = NULL;
	r = config_load_mem(name, text.data, text.len, ret, err);
	buf_free(&text);
	return r;
}

/* The selectors (with d=) config_signing_keys gives mail from
 * user@domain, as "d:s d:s". */
static void
signers(const struct config *cfg, const char *domain, const char *want)
{
	struct config_signer s[BOUND_SIGNING_KEYS];
	struct arena *a = arena_new(4096);
	const char *why = NULL;
	struct buf got;
	size_t i, n = 0;

	buf_init(&got, 4096);
	CHECK_INT_EQ(config_signing_keys(cfg, "user", domain, a, s,
	                 BOUND_SIGNING_KEYS, &n, &why),
	    0);
	for (i = 0; i < n; i++)
		buf_addf(
		    &got, "%s%s:%s", i ? " " : "", s[i].domain, s[i].selector);
	CHECK_STR_EQ(buf_cstr(&got), want);
	buf_free(&got);
	arena_free(a);
}

static void
test_off(void)
{
	struct config *cfg;
	struct buf err;

	buf_init(&err, 65536);
	/* no RotateDomains: rotation is off, the state is not read */
	CHECK_INT_EQ(load("", &cfg, &err), -EINVAL);
	CHECK(strstr(buf_cstr(&err), "RotateStateDir: needs RotateDomains "
	                             "(rotation is off)") != NULL);
	buf_reset(&err);
	CHECK_INT_EQ(config_load_mem(
	                 "/etc/authmilter/a.conf", "Mode v\n", 7, &cfg, &err),
	    0);
	CHECK_INT_EQ(cfg->rotate.domains.n, 0);
	CHECK_INT_EQ(config_rotate_ack(cfg), 0);
	config_unref(cfg);
	buf_free(&err);
}

static void
test_signers(void)
{
	struct config *cfg;
	struct buf err;
	char path[512];
	uint64_t gen = 0;

	buf_init(&err, 65536);
	CHECK_INT_EQ(load("RotateDomains example.com, example.net\n"
	                  "RotatePublish update\n"
	                  "RotateKeys rsa-2048, ed25519\n",
	                 &cfg, &err),
	    -EINVAL);
	/* update without the key */
	CHECK(strstr(buf_cstr(&err),
	          "authmilter.conf:8: RotatePublish: update needs "
	          "RotateTSIGKey") != NULL);
	buf_reset(&err);
	snprintf(path, sizeof(path),
	    "RotateDomains example.com, example.net\nRotatePublish update\n"
	    "RotateKeys rsa-2048, ed25519\nRotateTSIGKey %s/tsig.key\n",
	    dir);
	CHECK_INT_EQ(load(path, &cfg, &err), 0);
	CHECK_STR_EQ(buf_cstr(&err), "");
	if (cfg == NULL)
		return;
	CHECK_INT_EQ(cfg->rotate.generation, 5);
	CHECK_INT_EQ(cfg->rotate.interval, 90 * 86400);
	CHECK_INT_EQ(cfg->rotate.overlap, 7 * 86400);
	CHECK_STR_EQ(cfg->rotate.selector, "%Y%m%d-%t");
	CHECK_INT_EQ(cfg->rotate.n_types, 2);
	/* three table keys, three of the state's */
	CHECK_INT_EQ(cfg->n_keys, 6);
	/* the state's keys take the place of every example.com key */
	signers(cfg, "example.com", "example.com:r1 example.com:e1");
	/* other domains keep their tables' keys */
	signers(cfg, "example.org", "example.org:org");
	/* a rotated domain the tables do not sign: its own mail */
	signers(cfg, "example.net", "example.net:r1");
	signers(cfg, "example.info", "");
	/* the daemon's acknowledgement */
	CHECK_INT_EQ(config_rotate_ack(cfg), 0);
	snprintf(path, sizeof(path), "%s/state/loaded", dir);
	CHECK_INT_EQ(rotate_state_ack_read(path, &gen), 0);
	CHECK_INT_EQ(gen, 5);
	config_unref(cfg);
	/* only listed domains rotate: example.net's keys are not used */
	buf_reset(&err);
	CHECK_INT_EQ(load("RotateDomains example.org\n", &cfg, &err), 0);
	signers(cfg, "example.com", "example.com:op example.com:ed");
	signers(cfg, "example.net", "");
	config_unref(cfg);
	/* Mode v signs nothing, rotation or not */
	CHECK_INT_EQ(
	    load("RotateDomains example.com\nMode v\n", &cfg, &err), 0);
	signers(cfg, "example.com", "");
	config_unref(cfg);
	buf_free(&err);
}

static void
test_errors(void)
{
	static const struct {
		const char *extra;
		const char *want;
	} cases[] = {
	    {"RotateInterval 30d\n",
	        "RotateInterval: needs RotateDomains (rotation is off)"},
	    {"RotateDomains example.com\nRotateKeys rsa-2048, ed25519\n"
	     "RotateSelector s%Y%m%d\n",
	        ":9: RotateSelector: \"s%Y%m%d\": with two key types it needs "
	        "%t"},
	    {"RotateDomains example.com\nRotateSelector a.b\n",
	        ":8: RotateSelector: \"a.b\": codes are %Y %m %d %H %M %S %t; "
	        "the result must be one label"},
	    {"RotateDomains example.com\nRotateOverlap 1h\nRotateTTL 2h\n",
	        ":8: RotateOverlap: must be longer than RotateTTL (7200s)"},
	    {"RotateDomains example.com\nRotateInterval 2d\n",
	        ":8: RotateInterval: must be longer than RotateOverlap "
	        "(604800s)"},
	    {"RotateDomains example.com\nRotateInterval 90\n",
	        ":8: RotateInterval: \"90\": want a number and a unit: 90d, "
	        "12h, 30m, 45s or 2w"},
	    {"RotateDomains example.com\nRotateInterval 9x\n",
	        ":8: RotateInterval: \"9x\": unit: want s, m, h, d or w"},
	    {"RotateDomains example.com\nRotateInterval 1h\n",
	        ":8: RotateInterval: \"1h\": out of range (86400s to "
	        "315360000s)"},
	    {"RotateDomains example.com\nRotateInterval 99999999999d\n",
	        ":8: RotateInterval: \"99999999999d\": too long"},
	    {"RotateDomains example.com\nRotateKeys rsa-512\n",
	        ":8: RotateKeys: \"rsa-512\": want rsa-BITS (1024 to 4096) or "
	        "ed25519"},
	    {"RotateDomains example.com\nRotateKeys rsa-2048, rsa-4096\n",
	        ":8: RotateKeys: two rsa keys: one of each type"},
	    {"RotateDomains example.com\nRotateKeys rsa-2048, ed25519, "
	     "ed25519\n",
	        ":8: RotateKeys: at most two keys: one RSA, one Ed25519"},
	    {"RotateDomains example.com\nRotateKeys ,\n",
	        ":8: RotateKeys: empty list"},
	    {"RotateDomains example.com\nRotatePublish nsupdate\n",
	        ":8: RotatePublish: \"nsupdate\": want manual or update"},
	    {"RotateDomains example.com\nRotateUpdateServer ns1.example\n",
	        ":8: RotateUpdateServer: \"ns1.example\": not an IP address"},
	    {"RotateDomains example.com\nRotateAuthPort 0\n",
	        ":8: RotateAuthPort: \"0\": out of range (1 to 65535)"},
	    {"RotateDomains example.com\nSignatureAlgorithm rsa-sha256\n"
	     "RotateKeys ed25519\n",
	        ":9: RotateKeys: ed25519 keys cannot sign rsa-sha256 "
	        "(SignatureAlgorithm)"},
	    {"RotateDomains bad..name\n",
	        ":7: RotateDomains: \"bad..name\": not a domain name"},
	    {"RotateDomains example.com\nRotateKeyDir /nonexistent/keys\n",
	        ":7: RotateKeyDir: /nonexistent/keys: No such file or "
	        "directory"},
	    {"RotateDomains example.com\nRotateKeyDir /tmp/a b\n",
	        "no blanks or '#' in this path"},
	};
	struct config *cfg;
	struct buf err;
	size_t i;

	buf_init(&err, 65536);
	for (i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		buf_reset(&err);
		CHECK_INT_EQ(load(cases[i].extra, &cfg, &err), -EINVAL);
		if (strstr(buf_cstr(&err), cases[i].want) == NULL)
			fprintf(stderr, "want \"%s\" in:\n%s", cases[i].want,
			    buf_cstr(&err));
		CHECK(strstr(buf_cstr(&err), cases[i].want) != NULL);
		CHECK(cfg == NULL);
	}
	buf_free(&err);
}

/* PidFile, the TSIG key's mode and syntax, the state file. */
static void
test_files(void)
{
	char extra[1024], kept[4096];
	struct config *cfg;
	struct buf err;
	FILE *f;
	size_t n;

	buf_init(&err, 65536);
	snprintf(extra, sizeof(extra),
	    "RotateDomains example.com\nRotatePublish update\n"
	    "RotateTSIGKey %s/tsig.key\n",
	    dir);
	CHECK_INT_EQ(config_load_mem("/x/a.conf", "RotateDomains example.com\n",
	                 26, &cfg, &err),
	    -EINVAL);
	CHECK(strstr(buf_cstr(&err), "RotateDomains: rotation tells the "
	                             "daemon to load new keys through "
	                             "PidFile: set PidFile") != NULL);
	/* a TSIG key group or others can read: the rule of private keys */
	snprintf(kept, sizeof(kept), "%s/tsig.key", dir);
	chmod(kept, 0640);
	buf_reset(&err);
	CHECK_INT_EQ(load(extra, &cfg, &err), -EINVAL);
	CHECK(strstr(buf_cstr(&err), "RotateTSIGKey: ") != NULL);
	CHECK(strstr(buf_cstr(&err), "tsig.key: key file is accessible by "
	                             "group or others (mode 0640); chmod 600 "
	                             "it, or set RequireSafeKeys no") != NULL);
	buf_reset(&err);
	snprintf(kept, sizeof(kept), "%sRequireSafeKeys no\n", extra);
	CHECK_INT_EQ(load(kept, &cfg, &err), 0);
	config_unref(cfg);
	put("tsig.key",
	    "key \"u\" { algorithm hmac-md5; secret \"" SECRET "\"; };\n",
	    0600);
	buf_reset(&err);
	CHECK_INT_EQ(load(extra, &cfg, &err), -EINVAL);
	CHECK(strstr(buf_cstr(&err), "tsig.key:1: hmac-md5 is deprecated") !=
	      NULL);
	put("tsig.key",
	    "key \"u\" { algorithm hmac-sha256; secret \"" SECRET "\"; };\n",
	    0600);
	/* a broken state file is an error of the configuration */
	snprintf(extra, sizeof(extra), "%s/state/state", dir);
	f = fopen(extra, "r");
	n = f ? fread(kept, 1, sizeof(kept) - 1, f) : 0;
	if (f != NULL)
		fclose(f);
	kept[n] = '\0';
	put("state/state", "authmilter-rotate 1\ngeneration 1\nbogus\n", 0640);
	buf_reset(&err);
	CHECK_INT_EQ(load("RotateDomains example.com\n", &cfg, &err), -EINVAL);
	CHECK(strstr(buf_cstr(&err), "/state/state:3: \"bogus\": want domain "
	                             "or key") != NULL);
	/* a current key that is gone */
	put("state/state",
	    "authmilter-rotate 1\ngeneration 1\ndomain example.com "
	    "phase=idle since=1 switched=1 confirmed=1 gen=1 wait=0\nkey "
	    "example.com current rsa gone rotate created=1 /nonexistent/"
	    "gone.private\n",
	    0640);
	buf_reset(&err);
	CHECK_INT_EQ(load("RotateDomains example.com\n", &cfg, &err), -EINVAL);
	CHECK(strstr(buf_cstr(&err), "/state/state: domain example.com: "
	                             "current key: /nonexistent/gone.private: "
	                             "No such file or directory") != NULL);
	put("state/state", kept, 0640);
	buf_free(&err);
}

static void
test_parsers(void)
{
	static const struct {
		const char *v;
		unsigned want;
	} durations[] = {
	    {"90d", 90 * 86400},
	    {"2w", 14 * 86400},
	    {"12h", 43200},
	    {"30m", 1800},
	    {"45s", 45},
	    {"0s", 0},
	};
	static const char *const bad[] = {
	    "", "d", "90", "9 d", "90dd", "-1d", "4294967296s", "1.5d"};
	char *two_v[] = {"ed25519", "RSA-3072"}, *big_v[] = {"rsa-20480"},
	     *none_v[] = {"rsa-"};
	const struct config_strlist two = {two_v, 2}, big = {big_v, 1},
	                            none = {none_v, 1};
	struct config_rotate_type t[2];
	char why[200];
	unsigned v;
	size_t i, n = 0;

	for (i = 0; i < sizeof(durations) / sizeof(*durations); i++) {
		CHECK(config_rotate_duration(durations[i].v, &v) == NULL);
		CHECK_INT_EQ(v, durations[i].want);
	}
	for (i = 0; i < sizeof(bad) / sizeof(*bad); i++)
		CHECK(config_rotate_duration(bad[i], &v) != NULL);
	CHECK(config_rotate_types(&two, t, &n, why, sizeof(why)) == NULL);
	CHECK_INT_EQ(n, 2);
	CHECK_INT_EQ(t[0].type, DKIM_KEY_ED25519);
	CHECK_INT_EQ(t[1].type, DKIM_KEY_RSA);
	CHECK_INT_EQ(t[1].bits, 3072);
	CHECK(config_rotate_types(&big, t, &n, why, sizeof(why)) != NULL);
	CHECK(config_rotate_types(&none, t, &n, why, sizeof(why)) != NULL);
}

/* The configuration at conf loaded after prev (may be NULL), without a
 * problem; NULL when it fails. */
static struct config *
reload(const char *conf, const struct config *prev)
{
	struct config *cfg = NULL;
	struct buf err;

	buf_init(&err, 65536);
	CHECK_INT_EQ(config_reload(conf, prev, &cfg, &err), 0);
	CHECK_STR_EQ(buf_cstr(&err), "");
	buf_free(&err);
	return cfg;
}

/* Reloads take over the keys of the state whose files did not change,
 * and load the key a new switch brings. */
static void
test_reload(void)
{
	struct config *c1 = NULL, *c2 = NULL, *c3 = NULL;
	struct buf text;
	char conf[512];
	size_t i;

	buf_init(&text, 65536);
	conf_text("RotateDomains example.com, example.net\n"
	          "RotateKeys rsa-2048, ed25519\n",
	    &text);
	put("authmilter.conf", buf_cstr(&text), 0644);
	buf_free(&text);
	snprintf(conf, sizeof(conf), "%s/authmilter.conf", dir);
	if ((c1 = reload(conf, NULL)) == NULL)
		goto out;
	/* three table keys, three of the state's, from three files, each
	 * parsed once (op.private: keys 0 and 1, e1.private: 2 and 4,
	 * r1.private: 3 and 5) */
	CHECK_INT_EQ(c1->n_keys, 6);
	CHECK_INT_EQ(c1->keys_loaded, 3);
	CHECK_INT_EQ(c1->keys_kept, 3);
	if (c1->n_keys == 6) {
		CHECK(c1->keys[0].key == c1->keys[1].key);
		CHECK(c1->keys[2].key == c1->keys[4].key);
		CHECK(c1->keys[3].key == c1->keys[5].key);
		CHECK(c1->keys[0].key != c1->keys[2].key);
		CHECK(c1->keys[0].key != c1->keys[3].key);
	}
	if ((c2 = reload(conf, c1)) == NULL)
		goto out;
	CHECK_INT_EQ(c2->keys_loaded, 0);
	CHECK_INT_EQ(c2->keys_kept, 6);
	for (i = 0; i < 6 && i < c2->n_keys; i++)
		CHECK(c2->keys[i].key == c1->keys[i].key);
	/* example.com switches to a new RSA key: that one is parsed */
	make_key("r2.private", DKIM_KEY_RSA);
	put_state("r2");
	if ((c3 = reload(conf, c2)) == NULL)
		goto out;
	CHECK_INT_EQ(c3->keys_loaded, 1);
	CHECK_INT_EQ(c3->keys_kept, 5);
	signers(c3, "example.com", "example.com:r2 example.com:e1");
	signers(c2, "example.com", "example.com:r1 example.com:e1");
	CHECK_INT_EQ(c3->n_keys, 6);
	if (c3->n_keys == 6) {
		CHECK_STR_EQ(c3->keys[3].selector, "r2");
		CHECK(c3->keys[3].key != c2->keys[3].key);
		CHECK(c3->keys[4].key == c2->keys[4].key);
		CHECK(c3->keys[5].key == c2->keys[5].key);
	}
out:
	config_unref(c3);
	config_unref(c2);
	config_unref(c1);
}

static void
cleanup(void)
{
	char cmd[600];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		CHECK(0);
}

int
main(void)
{
	setup();
	test_off();
	test_signers();
	test_errors();
	test_files();
	test_parsers();
	test_reload();
	cleanup();
	return check_summary("config_rotate");
}
