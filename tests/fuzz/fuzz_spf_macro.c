/*
 * fuzz_spf_macro.c -- macro expansion (spf_macro_expand) of arbitrary
 * bytes with fixed sender, client and HELO. The first byte picks the
 * kind (domain-spec, explanation, unknown modifier) and IPv4 or IPv6.
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "authmilter/bounds.h"
#include "authmilter/spf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *
fuzz_ptr(void *ctx, const char *domain)
{
	return "mail.example.org";
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct spf_ip ip;
	struct spf_macro_env env = {
	    .sender = "strong-bad@email.example.com",
	    .local = "strong-bad",
	    .sender_domain = "email.example.com",
	    .domain = "email.example.com",
	    .ip = &ip,
	    .helo = "mx.example.org",
	    .receiver = "mx.example.net",
	    .now = 1700000000,
	    .validated_name = fuzz_ptr,
	};
	enum spf_macro_kind kind;
	const char *why;
	bool end;
	struct buf b;
	int r, c;

	if (size < 1)
		return 0;
	kind = (enum spf_macro_kind)(data[0] % 3);
	spf_ip_parse(data[0] & 4 ? "2001:db8::cb01" : "192.0.2.3", &ip);
	buf_init(&b, BOUND_SPF_MACRO_BYTES);
	r = spf_macro_expand(
	    &env, (const char *)data + 1, size - 1, kind, &b, &why);
	c = spf_macro_check((const char *)data + 1, size - 1, kind, &end, &why);
	/* expansion fails only where the syntax check does, or on the cap */
	if ((r == 0 && c != 0) || (r != 0 && r != -ERANGE && c == 0))
		__builtin_trap();
	if (b.len > BOUND_SPF_MACRO_BYTES)
		__builtin_trap();
	buf_free(&b);
	return 0;
}
