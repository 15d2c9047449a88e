/*
 * fuzz_zone.c -- zone-file text (records and ";@fault" directives)
 * through dns_zone_load_mem, then one query of each type on a name the
 * text may have defined.
 */
#include <stdint.h>
#include <stdlib.h>

#include "authmilter/dns.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const enum dns_type types[] = {
	    DNS_T_A, DNS_T_AAAA, DNS_T_MX, DNS_T_TXT, DNS_T_PTR};
	struct dns_resolver *r = dns_zone_new();
	struct dns_answer *a;
	char *why = NULL;
	size_t i;

	if (dns_zone_load_mem(r, "fuzz", (const char *)data, size, &why) != 0 &&
	    why == NULL)
		__builtin_trap(); /* an error always says why */
	free(why);
	for (i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		if (dns_query(r, "a.example", types[i], &a) == 0) {
			if (a->status != DNS_OK && a->count != 0)
				__builtin_trap();
			dns_answer_unref(a);
		}
	dns_resolver_free(r);
	return 0;
}
