/*
 * run_spf_suite.c -- the OpenSPF test suite (rfc7208-tests.yml,
 * rfc4408-tests.yml) against spf_check().
 *
 *	run_spf_suite CONVERTER SUITE.yml [EXPECTED-DIFFERENCES]
 *
 * CONVERTER (spf_yaml2json.py, run with /usr/bin/python3 for python3-yaml)
 * turns the YAML into JSON; each scenario's zone data feeds a dns_zone
 * resolver (timeouts as faults) and every test case is evaluated for its
 * MAIL FROM identity (postmaster@HELO for an empty one), compared with
 * the allowed results and, where given, the explanation ("DEFAULT" is the
 * default explanation). Prints every failure and "N passed, M failed".
 *
 * With EXPECTED-DIFFERENCES (lines "case-name reason"; '#' comments),
 * a listed case that fails is an expected difference; a listed case that
 * passes is a failure (the list must stay honest). Exit 0 only when
 * nothing failed.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "authmilter/arena.h"
#include "authmilter/dns.h"
#include "authmilter/spf.h"

#define SUITE_PYTHON "/usr/bin/python3"
#define SUITE_NOW 1700000000LL
#define SUITE_MAX_DIFFS 256

struct suite_diff {
	char name[128];
	bool seen;
};

struct suite {
	struct suite_diff diffs[SUITE_MAX_DIFFS];
	size_t ndiffs;
	int passed, failed, expected;
};

/* Run the converter and parse its output. */
static json_t *
suite_load(const char *converter, const char *yml)
{
	json_error_t jerr;
	json_t *root;
	int fds[2], status;
	pid_t pid;
	FILE *f;

	if (pipe(fds) != 0 || (pid = fork()) < 0) {
		perror("run_spf_suite");
		return NULL;
	}
	if (pid == 0) {
		dup2(fds[1], 1);
		close(fds[0]);
		close(fds[1]);
		execl(SUITE_PYTHON, SUITE_PYTHON, converter, yml, (char *)NULL);
		perror(SUITE_PYTHON);
		_exit(127);
	}
	close(fds[1]);
	f = fdopen(fds[0], "r");
	root = f != NULL ? json_loadf(f, 0, &jerr) : NULL;
	if (f != NULL)
		fclose(f);
	if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) ||
	    WEXITSTATUS(status) != 0) {
		fprintf(stderr, "%s %s failed (python3-yaml installed?)\n",
		    SUITE_PYTHON, converter);
		json_decref(root);
		return NULL;
	}
	if (root == NULL)
		fprintf(stderr, "converter output: %s\n", jerr.text);
	return root;
}

static int
suite_diffs_load(struct suite *s, const char *path)
{
	char line[1024], *p;
	FILE *f = fopen(path, "r");

	if (f == NULL) {
		perror(path);
		return -1;
	}
	while (fgets(line, sizeof(line), f) != NULL) {
		if (line[0] == '#' || line[0] == '\n')
			continue;
		p = line + strcspn(line, " \t\n");
		*p = '\0';
		if (s->ndiffs == SUITE_MAX_DIFFS || strlen(line) >= 128) {
			fprintf(
			    stderr, "%s: too many or too long names\n", path);
			fclose(f);
			return -1;
		}
		strcpy(s->diffs[s->ndiffs++].name, line);
	}
	fclose(f);
	return 0;
}

static struct suite_diff *
suite_diff_find(struct suite *s, const char *name)
{
	size_t i;

	for (i = 0; i < s->ndiffs; i++)
		if (strcmp(s->diffs[i].name, name) == 0)
			return &s->diffs[i];
	return NULL;
}

static enum dns_type
suite_type(const char *t)
{
	if (strcmp(t, "A") == 0)
		return DNS_T_A;
	if (strcmp(t, "AAAA") == 0)
		return DNS_T_AAAA;
	if (strcmp(t, "MX") == 0)
		return DNS_T_MX;
	if (strcmp(t, "PTR") == 0)
		return DNS_T_PTR;
	return DNS_T_TXT;
}

/* One record from the converter (data hex-encoded; A and AAAA in text). */
static int
suite_add_record(struct dns_resolver *z, json_t *r)
{
	const char *name = json_string_value(json_object_get(r, "name"));
	const char *hex = json_string_value(json_object_get(r, "data"));
	enum dns_type type =
	    suite_type(json_string_value(json_object_get(r, "type")));
	size_t n = strlen(hex) / 2, i;
	uint8_t data[16384], addr[16];
	struct dns_rr rr = {0};

	for (i = 0; i < n && i < sizeof(data) - 1; i++) {
		unsigned v;

		sscanf(hex + 2 * i, "%2x", &v);
		data[i] = (uint8_t)v;
	}
	data[i] = '\0';
	rr.len = i;
	rr.data = data;
	rr.pref = (uint16_t)json_integer_value(json_object_get(r, "pref"));
	if (type == DNS_T_A || type == DNS_T_AAAA) {
		/* addresses as given, no IPv4-mapped folding */
		if (inet_pton(type == DNS_T_A ? AF_INET : AF_INET6,
		        (const char *)data, addr) != 1)
			return -EINVAL;
		rr.data = addr;
		rr.len = type == DNS_T_A ? 4 : 16;
	}
	return dns_zone_add_rr(z, name, type, &rr);
}

static struct dns_resolver *
suite_zone(json_t *sc)
{
	struct dns_resolver *z = dns_zone_new();
	json_t *v;
	size_t i;

	json_array_foreach(json_object_get(sc, "records"), i, v)
	{
		if (suite_add_record(z, v) != 0)
			fprintf(stderr, "cannot add %s %s\n",
			    json_string_value(json_object_get(v, "name")),
			    json_string_value(json_object_get(v, "type")));
	}
	json_array_foreach(json_object_get(sc, "faults"), i, v)
	{
		dns_zone_add_fault(z,
		    json_string_value(json_object_get(v, "name")),
		    suite_type(json_string_value(json_object_get(v, "type"))),
		    "timeout (test data)");
	}
	return z;
}

static bool
suite_result_ok(json_t *allowed, enum auth_result r)
{
	json_t *v;
	size_t i;

	json_array_foreach(allowed, i, v)
	{
		if (strcmp(json_string_value(v), auth_result_name(r)) == 0)
			return true;
	}
	return false;
}

/* One test case. @return 1 passed, 0 failed, -1 internal error. */
static int
suite_case(struct dns_resolver *z, json_t *t, struct arena *a, char *msg,
    size_t msglen)
{
	const char *exp = json_string_value(json_object_get(t, "explanation"));
	struct spf_request req = {0};
	struct spf_result *res;

	if (spf_ip_parse(
	        json_string_value(json_object_get(t, "host")), &req.ip) != 0) {
		snprintf(msg, msglen, "bad host in test data");
		return 0;
	}
	req.dns = z;
	req.helo = json_string_value(json_object_get(t, "helo"));
	req.mail_from = json_string_value(json_object_get(t, "mailfrom"));
	req.default_exp = "DEFAULT";
	req.now = SUITE_NOW;
	if (spf_check(&req, SPF_MFROM, a, &res) != 0)
		return -1;
	snprintf(msg, msglen, "got %s (%s; %u lookups, %u queries)%s%s",
	    auth_result_name(res->result), res->reason, res->lookups,
	    res->queries, res->explanation ? " exp=" : "",
	    res->explanation ? res->explanation : "");
	if (!suite_result_ok(json_object_get(t, "result"), res->result))
		return 0;
	if (exp != NULL &&
	    (res->explanation == NULL || strcmp(exp, res->explanation) != 0))
		return 0;
	return 1;
}

static void
suite_report(
    struct suite *s, const char *name, json_t *t, int ok, const char *msg)
{
	struct suite_diff *d = suite_diff_find(s, name);
	char *want = json_dumps(json_object_get(t, "result"), JSON_COMPACT);
	const char *exp = json_string_value(json_object_get(t, "explanation"));

	if (d != NULL)
		d->seen = true;
	if (ok && d == NULL) {
		s->passed++;
	} else if (ok) {
		s->failed++;
		printf("FAIL %s: listed as an expected difference but passes\n",
		    name);
	} else if (d != NULL) {
		s->expected++;
	} else {
		s->failed++;
		printf("FAIL %s (spec %s): want %s%s%s, %s\n", name,
		    json_string_value(json_object_get(t, "spec")), want,
		    exp ? " exp=" : "", exp ? exp : "", msg);
	}
	free(want);
}

int
main(int argc, char **argv)
{
	static struct suite s;
	struct arena *a = arena_new(16384);
	json_t *root, *sc, *t;
	size_t i, j;
	char msg[1024];

	if (argc < 3 || argc > 4 || a == NULL) {
		fprintf(stderr, "usage: run_spf_suite CONVERTER SUITE.yml "
		                "[EXPECTED-DIFFERENCES]\n");
		return 2;
	}
	if (argc == 4 && suite_diffs_load(&s, argv[3]) != 0)
		return 1;
	if ((root = suite_load(argv[1], argv[2])) == NULL)
		return 1;
	json_array_foreach(json_object_get(root, "scenarios"), i, sc)
	{
		struct dns_resolver *z = suite_zone(sc);

		json_array_foreach(json_object_get(sc, "tests"), j, t)
		{
			int ok = suite_case(z, t, a, msg, sizeof(msg));

			if (ok < 0) {
				fprintf(stderr, "out of memory\n");
				return 1;
			}
			suite_report(&s,
			    json_string_value(json_object_get(t, "name")), t,
			    ok, msg);
			arena_reset(a);
		}
		dns_resolver_free(z);
	}
	for (i = 0; i < s.ndiffs; i++)
		if (!s.diffs[i].seen) {
			s.failed++;
			printf("FAIL %s: listed as an expected difference but "
			       "not in the suite\n",
			    s.diffs[i].name);
		}
	printf("%s: %d passed, %d failed", argv[2], s.passed, s.failed);
	if (argc == 4)
		printf(", %d expected differences (listed: %zu)", s.expected,
		    s.ndiffs);
	printf("\n");
	json_decref(root);
	arena_free(a);
	if (s.passed + s.failed + s.expected == 0) {
		printf("FAIL %s: no test cases in it\n", argv[2]);
		return 1;
	}
	return s.failed == 0 ? 0 : 1;
}
