/*
 * fuzz_report_mailto.c -- the mailto: parser of report destinations
 * (report_mailto_parse) and the destination rules around it
 * (report_destinations: suppression, the RFC 9990 external-destination
 * check with an in-process zone that authorizes one host and overrides
 * another) on arbitrary bytes, one URI per input line.
 *
 * Invariants (abort on violation):
 *   - a parsed address is one dot-atom local part of 1..64 bytes, one
 *     "@" and a lower-case host name that is a valid DNS name, with the
 *     host pointer at its host part; a refused one has a reason;
 *   - every destination names its URI; a kept one has an address with
 *     exactly one "@"; a dropped one says why.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "authmilter/arena.h"
#include "authmilter/bounds.h"
#include "authmilter/dns.h"
#include "authmilter/report.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char fuzz_zone[] =
    "$TTL 300\n"
    "example.com._report._dmarc.ext.example. IN TXT \"v=DMARC1\"\n"
    "example.com._report._dmarc.over.example. IN TXT "
    "\"v=DMARC1; rua=mailto:a@over.example,mailto:b%40x@over.example\"\n"
    "example.com._report._dmarc.other.example. IN TXT "
    "\"v=DMARC1; rua=mailto:a@third.example\"\n";

static struct dns_resolver *fuzz_dns;

static void
fuzz_die(const char *what, const char *s)
{
	fprintf(stderr, "fuzz_report_mailto: %s: %s\n", what, s);
	abort();
}

static void
fuzz_check_address(const char *addr, const char *host)
{
	const char *at = strchr(addr, '@'), *p;

	if (at == NULL || strchr(at + 1, '@') != NULL || host != at + 1 ||
	    at == addr || at - addr > 64 || !dns_name_valid(host))
		fuzz_die("bad address", addr);
	for (p = addr; *p != '\0'; p++)
		if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f)
			fuzz_die("control, space or 8-bit byte", addr);
	for (p = host; *p != '\0'; p++)
		if (*p >= 'A' && *p <= 'Z')
			fuzz_die("host not lower-cased", addr);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *uris[BOUND_SPOOL_RUA], *why, *p = (const char *)data;
	const char *end = p + size, *nl;
	struct spool_policy_published pp;
	struct report_dest_options o;
	struct report_dest *dests;
	struct arena *a;
	size_t n = 0, nd, i;
	char *addr, *host;
	char *zwhy = NULL;

	if (fuzz_dns == NULL) {
		fuzz_dns = dns_zone_new();
		if (fuzz_dns == NULL ||
		    dns_zone_load_mem(fuzz_dns, "fuzz_report_mailto", fuzz_zone,
		        sizeof(fuzz_zone) - 1, &zwhy) < 0)
			fuzz_die("zone", zwhy != NULL ? zwhy : "?");
	}
	if ((a = arena_new(4096)) == NULL)
		return 0;
	while (p < end && n < BOUND_SPOOL_RUA) {
		nl = memchr(p, '\n', (size_t)(end - p));
		if (nl == NULL)
			nl = end;
		why = NULL;
		addr = report_mailto_parse(a, p, (size_t)(nl - p), &host, &why);
		if (addr != NULL)
			fuzz_check_address(addr, host);
		else if (why == NULL)
			fuzz_die("refused without a reason", "");
		uris[n++] = arena_memdup(a, p, (size_t)(nl - p));
		if (uris[n - 1] == NULL)
			n--;
		p = nl + 1;
	}
	memset(&pp, 0, sizeof(pp));
	pp.domain = "example.com";
	pp.rua = uris;
	pp.rua_count = n;
	memset(&o, 0, sizeof(o));
	o.dns = fuzz_dns;
	static const char *const suppress[] = {
	    "no@example.com", "never.example"};
	o.suppress = suppress;
	o.suppress_count = 2;
	if (report_destinations(&pp, &o, a, &dests, &nd) == 0) {
		for (i = 0; i < nd; i++) {
			if (dests[i].uri == NULL)
				fuzz_die("destination without its URI", "");
			if (dests[i].address == NULL && dests[i].why == NULL)
				fuzz_die(
				    "dropped without a reason", dests[i].uri);
			if (dests[i].address != NULL &&
			    (strchr(dests[i].address, '@') == NULL ||
			        strchr(strchr(dests[i].address, '@') + 1,
			            '@') != NULL))
				fuzz_die("kept address", dests[i].address);
		}
	}
	arena_free(a);
	return 0;
}
