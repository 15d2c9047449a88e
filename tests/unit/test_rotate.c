/*
 * test_rotate.c -- the key rotation state machine (every phase against
 * every event, the plan for each phase and time) and the state file
 * (round trips, every kind of bad line, atomic save, the daemon's
 * acknowledgement), and RotateSelector expansion.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "authmilter/rotate.h"
#include "check.h"

#define I ROTATE_IDLE
#define G ROTATE_GENERATED
#define P ROTATE_PUBLISHED
#define V ROTATE_VISIBLE
#define S ROTATE_SWITCHED
#define R ROTATE_RETIRED
#define X (-1) /* cannot happen */

/* The whole machine: rows are phases, columns the events in enum order
 * (generated, published, visible, switched, loaded, removed, revoked,
 * revealed, waiting, failed). */
static const int want_next[ROTATE_N_PHASES][ROTATE_N_EVENTS] = {
    /*        gen pub vis sw  load rem rev reve wait fail */
    [I] = {G, X, X, X, X, X, X, X, I, I},
    [G] = {X, P, X, X, X, X, X, X, G, G},
    [P] = {X, X, V, X, X, X, X, X, P, P},
    [V] = {X, X, X, S, X, X, X, X, V, V},
    [S] = {X, X, X, X, S, I, R, X, S, S},
    [R] = {X, X, X, X, X, X, X, I, R, R},
};

static void
test_table(void)
{
	int p, e;

	for (p = 0; p < ROTATE_N_PHASES; p++)
		for (e = 0; e < ROTATE_N_EVENTS; e++) {
			if (rotate_next_phase((enum rotate_phase)p,
			        (enum rotate_event)e) != want_next[p][e])
				fprintf(stderr, "phase %s, event %s\n",
				    rotate_phase_name((enum rotate_phase)p),
				    rotate_event_name((enum rotate_event)e));
			CHECK_INT_EQ(rotate_next_phase((enum rotate_phase)p,
			                 (enum rotate_event)e),
			    want_next[p][e]);
		}
	CHECK_INT_EQ(rotate_next_phase(ROTATE_N_PHASES, ROTATE_EV_WAITING), -1);
	CHECK_INT_EQ(rotate_next_phase(ROTATE_IDLE, ROTATE_N_EVENTS), -1);
}

static struct rotate_domain
domain(enum rotate_phase p)
{
	struct rotate_domain d;

	memset(&d, 0, sizeof(d));
	d.name = strdup("example.com");
	d.phase = p;
	return d;
}

static void
domain_free(struct rotate_domain *d)
{
	size_t i;

	for (i = 0; i < d->n_keys; i++)
		free(d->keys[i].path);
	free(d->name);
}

static void
test_apply(void)
{
	struct rotate_domain d = domain(ROTATE_VISIBLE);

	rotate_state_add_key(&d, ROTATE_CURRENT, DKIM_KEY_RSA, "old", true, 10,
	    "/k/old.private");
	rotate_state_add_key(
	    &d, ROTATE_NEXT, DKIM_KEY_RSA, "new", true, 20, "/k/new.private");
	/* an event that cannot happen changes nothing */
	CHECK_INT_EQ(rotate_apply(&d, ROTATE_EV_REMOVED, 50), -EINVAL);
	CHECK_INT_EQ(d.phase, ROTATE_VISIBLE);
	CHECK_INT_EQ(d.keys[1].role, ROTATE_NEXT);
	/* waiting and failing change nothing either */
	CHECK_INT_EQ(rotate_apply(&d, ROTATE_EV_FAILED, 60), 0);
	CHECK_INT_EQ(d.since, 0);
	/* the switch: next becomes current, current old */
	CHECK_INT_EQ(rotate_apply(&d, ROTATE_EV_SWITCHED, 100), 0);
	CHECK_INT_EQ(d.phase, ROTATE_SWITCHED);
	CHECK_INT_EQ(d.since, 100);
	CHECK_INT_EQ(d.switched, 100);
	CHECK_INT_EQ(d.confirmed, 0);
	CHECK_INT_EQ(d.keys[0].role, ROTATE_OLD);
	CHECK_INT_EQ(d.keys[1].role, ROTATE_CURRENT);
	/* confirmed by the daemon: same phase, time recorded */
	CHECK_INT_EQ(rotate_apply(&d, ROTATE_EV_LOADED, 130), 0);
	CHECK_INT_EQ(d.confirmed, 130);
	CHECK_INT_EQ(d.since, 100);
	/* retired: the old keys leave */
	CHECK_INT_EQ(rotate_apply(&d, ROTATE_EV_REMOVED, 900), 0);
	CHECK_INT_EQ(d.phase, ROTATE_IDLE);
	CHECK_INT_EQ(d.n_keys, 1);
	CHECK_STR_EQ(d.keys[0].selector, "new");
	CHECK_INT_EQ(rotate_keys_count(&d, ROTATE_CURRENT), 1);
	CHECK_INT_EQ(rotate_keys_count(&d, ROTATE_OLD), 0);
	domain_free(&d);

	/* with RotateReveal: revoked, then revealed */
	d = domain(ROTATE_SWITCHED);
	rotate_state_add_key(
	    &d, ROTATE_CURRENT, DKIM_KEY_ED25519, "b", true, 1, "/k/b.private");
	rotate_state_add_key(
	    &d, ROTATE_OLD, DKIM_KEY_ED25519, "a", true, 1, "/k/a.private");
	CHECK_INT_EQ(rotate_apply(&d, ROTATE_EV_REVOKED, 10), 0);
	CHECK_INT_EQ(d.phase, ROTATE_RETIRED);
	CHECK_INT_EQ(rotate_keys_count(&d, ROTATE_OLD), 1);
	CHECK_INT_EQ(rotate_apply(&d, ROTATE_EV_REVEALED, 20), 0);
	CHECK_INT_EQ(d.phase, ROTATE_IDLE);
	CHECK_INT_EQ(rotate_keys_count(&d, ROTATE_OLD), 0);
	domain_free(&d);
}

static void
test_plan(void)
{
	static const struct {
		enum rotate_phase phase;
		int64_t switched, confirmed, wait, now;
		bool reveal;
		enum rotate_action want;
		int64_t until;
	} cases[] = {
	    /* never rotated: at once */
	    {I, 0, 0, 0, 1000, false, ROTATE_ACT_GENERATE, 0},
	    /* one interval (100) after the switch */
	    {I, 500, 500, 0, 599, false, ROTATE_ACT_WAIT, 600},
	    {I, 500, 500, 0, 600, false, ROTATE_ACT_GENERATE, 0},
	    {G, 0, 0, 0, 1, false, ROTATE_ACT_PUBLISH, 0},
	    {P, 0, 0, 0, 1, false, ROTATE_ACT_CHECK, 0},
	    /* negative caches */
	    {V, 0, 0, 300, 299, false, ROTATE_ACT_WAIT, 300},
	    {V, 0, 0, 300, 300, false, ROTATE_ACT_SWITCH, 0},
	    /* not confirmed: confirm, however late */
	    {S, 500, 0, 0, 100000, false, ROTATE_ACT_CONFIRM, 0},
	    /* the overlap (10) counts from the confirmation */
	    {S, 500, 520, 0, 529, false, ROTATE_ACT_WAIT, 530},
	    {S, 500, 520, 0, 530, true, ROTATE_ACT_RETIRE, 0},
	    {R, 500, 520, 700, 699, true, ROTATE_ACT_WAIT, 700},
	    {R, 500, 520, 700, 700, true, ROTATE_ACT_REVEAL, 0},
	};
	struct rotate_policy pol = {.interval = 100, .overlap = 10};
	struct rotate_domain d;
	int64_t until;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		memset(&d, 0, sizeof(d));
		d.phase = cases[i].phase;
		d.switched = cases[i].switched;
		d.confirmed = cases[i].confirmed;
		d.wait_until = cases[i].wait;
		pol.reveal = cases[i].reveal;
		until = -1;
		CHECK_INT_EQ(
		    rotate_plan(&d, &pol, cases[i].now, &until), cases[i].want);
		CHECK_INT_EQ(until, cases[i].until);
	}
}

static void
test_selector(void)
{
	static const struct {
		const char *pattern;
		enum dkim_key_type type;
		int rc;
		const char *want;
	} cases[] = {
	    {"%Y%m%d-%t", DKIM_KEY_RSA, 0, "20261207-rsa"},
	    {"%Y%m%d-%t", DKIM_KEY_ED25519, 0, "20261207-ed25519"},
	    {"s%Y%m", DKIM_KEY_RSA, 0, "s202612"},
	    {"mail-%Y%m%d%H%M%S", DKIM_KEY_RSA, 0, "mail-20261207183000"},
	    {"%Y%m%d-%q", DKIM_KEY_RSA, -EINVAL, NULL}, /* unknown code */
	    {"%", DKIM_KEY_RSA, -EINVAL, NULL},         /* dangling % */
	    {"a.b", DKIM_KEY_RSA, -EINVAL, NULL},       /* two labels */
	    {"-%Y", DKIM_KEY_RSA, -EINVAL, NULL},       /* leading - */
	    {"a_b", DKIM_KEY_RSA, -EINVAL, NULL},       /* not LDH */
	    {"", DKIM_KEY_RSA, -EINVAL, NULL},          /* empty */
	    {"%Y%Y%Y%Y%Y%Y%Y%Y%Y%Y%Y%Y%Y%Y%Y%Y", DKIM_KEY_RSA, -EINVAL,
	        NULL}, /* 64 bytes: more than a label */
	};
	char out[128];
	size_t i;

	/* 2026-12-07T18:30:00Z */
	for (i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		CHECK_INT_EQ(rotate_selector(cases[i].pattern, 1796668200,
		                 cases[i].type, out, sizeof(out)),
		    cases[i].rc);
		if (cases[i].rc == 0)
			CHECK_STR_EQ(out, cases[i].want);
	}
	CHECK_INT_EQ(
	    rotate_selector("%Y%m%d-%t", 1796668200, DKIM_KEY_RSA, out, 8),
	    -ERANGE);
}

static const char good_state[] =
    "# comment\n"
    "authmilter-rotate 1\n"
    "generation 7\n"
    "\n"
    "domain example.com phase=switched since=100 switched=100 "
    "confirmed=130 gen=7 wait=0\n"
    "key example.com current rsa 20261207-rsa rotate created=90 "
    "/keys/example.com/20261207-rsa.private\n"
    "key example.com current ed25519 20261207-ed25519 rotate created=90 "
    "/keys/example.com/20261207-ed25519.private\n"
    "key example.com old rsa op2025 operator created=0 -\n"
    "domain example.org phase=published since=50 switched=0 confirmed=0 "
    "gen=0 wait=0\n"
    "key example.org next rsa a rotate created=40 /keys/example.org/"
    "a.private\n";

static void
test_parse_good(void)
{
	struct rotate_state s, s2;
	struct buf why, out, out2;

	buf_init(&why, 1024);
	buf_init(&out, 65536);
	buf_init(&out2, 65536);
	CHECK_INT_EQ(
	    rotate_state_parse(good_state, strlen(good_state), "st", &s, &why),
	    0);
	CHECK_STR_EQ(buf_cstr(&why), "");
	CHECK_INT_EQ(s.generation, 7);
	CHECK_INT_EQ(s.n_domains, 2);
	CHECK_STR_EQ(s.domains[0].name, "example.com");
	CHECK_INT_EQ(s.domains[0].phase, ROTATE_SWITCHED);
	CHECK_INT_EQ(s.domains[0].confirmed, 130);
	CHECK_INT_EQ(s.domains[0].switch_gen, 7);
	CHECK_INT_EQ(s.domains[0].n_keys, 3);
	CHECK_INT_EQ(s.domains[0].keys[1].type, DKIM_KEY_ED25519);
	CHECK(s.domains[0].keys[2].path == NULL);
	CHECK(!s.domains[0].keys[2].owned);
	CHECK(rotate_state_domain(&s, "EXAMPLE.ORG", false) == &s.domains[1]);
	CHECK(rotate_state_domain(&s, "example.net", false) == NULL);
	/* written back, it reads the same */
	rotate_state_format(&s, &out);
	CHECK_INT_EQ(
	    rotate_state_parse(out.data, out.len, "out", &s2, &why), 0);
	rotate_state_format(&s2, &out2);
	CHECK_MEM_EQ(out.data, out.len, out2.data, out2.len);
	rotate_state_free(&s);
	rotate_state_free(&s2);
	CHECK_INT_EQ(s.n_domains, 0);
	buf_free(&why);
	buf_free(&out);
	buf_free(&out2);
}

static void
test_parse_bad(void)
{
	static const char head[] = "authmilter-rotate 1\ngeneration 1\n";
	static const char dom[] = "domain a.example phase=idle since=0 "
	                          "switched=0 confirmed=0 gen=0 wait=0\n";
	static const struct {
		const char *text;
		const char *why; /* the whole first line of why */
	} cases[] = {
	    {"", "st:0: empty: not a rotation state file"},
	    {"generation 1\n", "st:1: not a rotation state file (want "
	                       "\"authmilter-rotate 1\" first)"},
	    {"authmilter-rotate 2\ngeneration 1\n",
	        "st:1: state file version 2, this authmilter reads 1"},
	    {"authmilter-rotate 1\n", "st:1: no generation line"},
	    {"authmilter-rotate 1\ngeneration x\n",
	        "st:2: generation: want a number"},
	    {"authmilter-rotate 1\ngeneration 99999999999999999999\n",
	        "st:2: generation: want a number"},
	    {"authmilter-rotate 1\ndomain a\n",
	        "st:2: want \"generation N\" once, after the version line"},
	    {"authmilter-rotate 1\ngeneration 1\nzone a\n",
	        "st:3: \"zone\": want domain or key"},
	    {"authmilter-rotate 1\ngeneration 1\ndomain A.example "
	     "phase=idle since=0 switched=0 confirmed=0 gen=0 wait=0\n",
	        "st:3: \"A.example\": not a domain name (lower-case, no final "
	        "dot)"},
	    {"authmilter-rotate 1\ngeneration 1\ndomain a.example "
	     "phase=busy since=0 switched=0 confirmed=0 gen=0 wait=0\n",
	        "st:3: phase \"busy\": not a phase"},
	    {"authmilter-rotate 1\ngeneration 1\ndomain a.example "
	     "phase=idle since=-1 switched=0 confirmed=0 gen=0 wait=0\n",
	        "st:3: since=\"-1\": not a number"},
	    {"authmilter-rotate 1\ngeneration 1\ndomain a.example "
	     "phase=idle phase=idle switched=0 confirmed=0 gen=0 wait=0\n",
	        "st:3: phase= given twice"},
	    {"authmilter-rotate 1\ngeneration 1\ndomain a.example "
	     "phase=idle since=0 switched=0 confirmed=0 gen=0 waiting=0\n",
	        "st:3: \"waiting=0\": want phase=, since=, switched=, "
	        "confirmed=, gen= or wait="},
	    {"authmilter-rotate 1\ngeneration 1\ndomain a.example phase=idle\n",
	        "st:3: want domain NAME phase= since= switched= confirmed= "
	        "gen= wait="},
	    {"authmilter-rotate 1\ngeneration 1\nkey a.example current rsa s "
	     "rotate created=0 /k\n",
	        "st:3: key of a.example not after its domain line"},
	};
	static const struct {
		const char *lines; /* after head and dom */
		const char *why;
	} keys[] = {
	    {"key a.example boss rsa s rotate created=0 /k\n",
	        "st:4: role \"boss\": want current, next or old"},
	    {"key a.example current dsa s rotate created=0 /k\n",
	        "st:4: type \"dsa\": want rsa or ed25519"},
	    {"key a.example current rsa s.t rotate created=0 /k\n",
	        "st:4: selector \"s.t\": not a selector"},
	    {"key a.example current rsa s friend created=0 /k\n",
	        "st:4: origin \"friend\": want rotate or operator"},
	    {"key a.example current rsa s rotate made=0 /k\n",
	        "st:4: want created=T, not \"made=0\""},
	    {"key a.example current rsa s rotate created=0 k\n",
	        "st:4: a key made by rotation needs its absolute path"},
	    {"key a.example current rsa s operator created=0 /k\n",
	        "st:4: an operator's key has path \"-\""},
	    {"key a.example current rsa s rotate created=0 /k\n"
	     "key a.example next rsa s rotate created=0 /k\n",
	        "st:5: selector s given twice"},
	    {"key a.example current rsa s rotate created=0 /k extra\n",
	        "st:4: want key DOMAIN ROLE TYPE SELECTOR ORIGIN created=T "
	        "PATH"},
	    /* roles against the phase (idle, switched=0) */
	    {"key a.example next rsa s rotate created=0 /k\n",
	        "st:4: a.example: phase idle with next keys"},
	    {"key a.example old rsa s rotate created=0 /k\n",
	        "st:4: a.example: phase idle with old keys"},
	    {"key a.example current rsa s rotate created=0 /k\n",
	        "st:4: a.example: switched=0 but 1 current keys"},
	    {"domain a.example phase=idle since=0 switched=0 confirmed=0 "
	     "gen=0 wait=0\n",
	        "st:4: domain a.example given twice"},
	    {"key a.example current rsa s rotate created=0 /k\0x\n",
	        "st:4: NUL byte in line"},
	};
	struct rotate_state s;
	struct buf why, text;
	size_t i, n;

	buf_init(&why, 1024);
	buf_init(&text, 65536);
	for (i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		buf_reset(&why);
		CHECK_INT_EQ(rotate_state_parse(cases[i].text,
		                 strlen(cases[i].text), "st", &s, &why),
		    -EINVAL);
		CHECK_STR_EQ(buf_cstr(&why), cases[i].why);
	}
	for (i = 0; i < sizeof(keys) / sizeof(*keys); i++) {
		buf_reset(&why);
		buf_reset(&text);
		buf_adds(&text, head);
		buf_adds(&text, dom);
		/* a NUL byte inside the case: count up to the final LF */
		n = strlen(keys[i].lines);
		if (strstr(keys[i].why, "NUL") != NULL)
			n += 3;
		buf_add(&text, keys[i].lines, n);
		CHECK_INT_EQ(
		    rotate_state_parse(text.data, text.len, "st", &s, &why),
		    -EINVAL);
		CHECK_STR_EQ(buf_cstr(&why), keys[i].why);
	}
	buf_free(&why);
	buf_free(&text);
}

/* Past the bounds: more keys than BOUND_ROTATE_KEYS. */
static void
test_parse_bounds(void)
{
	struct rotate_state s;
	struct buf why, text;
	int i;

	buf_init(&why, 1024);
	buf_init(&text, 1 << 20);
	buf_adds(&text, "authmilter-rotate 1\ngeneration 1\n"
	                "domain a.example phase=switched since=0 switched=1 "
	                "confirmed=0 gen=1 wait=0\n"
	                "key a.example current rsa c rotate created=0 /k\n");
	for (i = 0; i < BOUND_ROTATE_KEYS; i++)
		buf_addf(&text,
		    "key a.example old rsa o%d operator created=0 -\n", i);
	CHECK_INT_EQ(
	    rotate_state_parse(text.data, text.len, "st", &s, &why), -EINVAL);
	CHECK(strstr(buf_cstr(&why), "more than") != NULL);
	buf_free(&why);
	buf_free(&text);
}

static void
test_files(void)
{
	char dir[] = "/tmp/test_rotate.XXXXXX", path[256], ack[256];
	struct rotate_state s, s2;
	struct rotate_domain *d;
	struct buf why;
	struct stat st;
	uint64_t gen = 99;

	buf_init(&why, 1024);
	if (mkdtemp(dir) == NULL) {
		CHECK(0);
		return;
	}
	snprintf(path, sizeof(path), "%s/state", dir);
	snprintf(ack, sizeof(ack), "%s/loaded", dir);
	/* missing: an empty state */
	CHECK_INT_EQ(rotate_state_load(path, &s, &why), 0);
	CHECK_INT_EQ(s.n_domains, 0);
	CHECK_INT_EQ(s.generation, 0);
	d = rotate_state_domain(&s, "Example.COM", true);
	CHECK(d != NULL && strcmp(d->name, "example.com") == 0);
	s.generation = 3;
	CHECK_INT_EQ(rotate_state_save(path, &s, &why), 0);
	CHECK(stat(path, &st) == 0 && (st.st_mode & 0777) == 0640);
	CHECK_INT_EQ(rotate_state_load(path, &s2, &why), 0);
	CHECK_INT_EQ(s2.generation, 3);
	CHECK_INT_EQ(s2.n_domains, 1);
	rotate_state_free(&s2);
	/* a path that would not stay one word is refused, the file kept */
	rotate_state_add_key(
	    d, ROTATE_NEXT, DKIM_KEY_RSA, "x", true, 1, "/a b/x.private");
	d->phase = ROTATE_GENERATED;
	CHECK_INT_EQ(rotate_state_save(path, &s, &why), -EINVAL);
	CHECK(strstr(buf_cstr(&why), "holds a blank") != NULL);
	CHECK_INT_EQ(rotate_state_load(path, &s2, &why), 0);
	CHECK_INT_EQ(s2.domains[0].n_keys, 0);
	rotate_state_free(&s2);
	rotate_state_free(&s);
	/* the acknowledgement */
	CHECK_INT_EQ(rotate_state_ack_read(ack, &gen), 0);
	CHECK_INT_EQ(gen, 0);
	CHECK_INT_EQ(rotate_state_ack_write(ack, 42, 1234), 0);
	CHECK_INT_EQ(rotate_state_ack_read(ack, &gen), 0);
	CHECK_INT_EQ(gen, 42);
	unlink(ack);
	unlink(path);
	rmdir(dir);
	buf_free(&why);
}

int
main(void)
{
	test_table();
	test_apply();
	test_plan();
	test_selector();
	test_parse_good();
	test_parse_bad();
	test_parse_bounds();
	test_files();
	return check_summary("rotate");
}
