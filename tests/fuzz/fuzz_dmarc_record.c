/*
 * fuzz_dmarc_record.c -- DMARC record parsing (dmarc_record_parse, and
 * orgdomain_sniff through it) on arbitrary bytes. Checks that every span
 * returned lies inside the input, counts stay within their bounds, the
 * enums hold known values, and a record that is not DMARC carries no
 * policy.
 */
#include <stdint.h>
#include <string.h>

#include "authmilter/dmarc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
fuzz_check_span(const char *s, size_t size, const struct dmarc_span *p)
{
	if (p->s < s || p->len == 0 || p->len > size ||
	    (size_t)(p->s - s) > size - p->len || p->len > BOUND_DMARC_URI_LEN)
		__builtin_trap();
	if (memchr(p->s, ',', p->len) != NULL ||
	    memchr(p->s, ';', p->len) != NULL ||
	    memchr(p->s, '!', p->len) != NULL)
		__builtin_trap();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data;
	struct dmarc_record r;
	enum orgdomain_psd psd;
	size_t i;

	if (dmarc_record_parse(s, size, &r) != 0 || r.why == NULL)
		__builtin_trap();
	if (r.rua_count > BOUND_DMARC_URIS || r.ruf_count > BOUND_DMARC_URIS ||
	    r.note_count > BOUND_DMARC_NOTES || r.rua_valid < r.rua_count)
		__builtin_trap();
	for (i = 0; i < r.rua_count; i++)
		fuzz_check_span(s, size, &r.rua[i]);
	for (i = 0; i < r.ruf_count; i++)
		fuzz_check_span(s, size, &r.ruf[i]);
	if (r.p > DMARC_POLICY_REJECT || r.sp > DMARC_POLICY_REJECT ||
	    r.np > DMARC_POLICY_REJECT || r.fo == 0 || r.fo > 0xf ||
	    ((r.fo & DMARC_FO_0) && (r.fo & DMARC_FO_1)))
		__builtin_trap();
	if (r.status == DMARC_RECORD_OK && r.p == DMARC_POLICY_UNSET)
		__builtin_trap();
	if (r.status != DMARC_RECORD_OK &&
	    (r.p != DMARC_POLICY_UNSET || r.sp != DMARC_POLICY_UNSET ||
	        r.np != DMARC_POLICY_UNSET))
		__builtin_trap();
	if (r.p_implied && (r.p != DMARC_POLICY_NONE || r.rua_valid == 0))
		__builtin_trap();
	if ((r.status == DMARC_RECORD_NOT_DMARC) ==
	    orgdomain_sniff(s, size, &psd))
		__builtin_trap();
	return 0;
}
