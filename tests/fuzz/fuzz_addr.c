/*
 * fuzz_addr.c -- the From address-list parser and the reverse-path parser
 * on arbitrary bytes (the whole input goes to both). On success the
 * results must keep the promises addr.h makes: a bounded, non-empty list;
 * every string NUL-terminated at its length; domains non-empty, at most
 * 253 bytes, without upper-case ASCII.
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "authmilter/addr.h"
#include "authmilter/arena.h"
#include "authmilter/bounds.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
fuzz_check_addr(const struct addr *a, bool may_be_empty)
{
	size_t i;

	if (a->local[a->local_len] != '\0' ||
	    a->domain[a->domain_len] != '\0' ||
	    a->display[a->display_len] != '\0' || a->spec[a->spec_len] != '\0')
		__builtin_trap();
	if (strlen(a->domain) != a->domain_len ||
	    strlen(a->local) != a->local_len)
		__builtin_trap();
	if (may_be_empty)
		return;
	if (a->domain_len == 0 || a->domain_len > 253 || a->spec_len == 0)
		__builtin_trap();
	for (i = 0; i < a->domain_len; i++)
		if (a->domain[i] >= 'A' && a->domain[i] <= 'Z')
			__builtin_trap();
	if (a->domain_literal != (a->domain[0] == '['))
		__builtin_trap();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct arena *a = arena_new(4096);
	struct addr_error err = {NULL, 0};
	struct addr_list l;
	struct addr_path p;
	size_t i;
	int r;

	if (a == NULL)
		return 0;
	r = addr_parse_from(a, (const char *)data, size, &l, &err);
	if (r == 0) {
		if (l.count == 0 || l.count > BOUND_FROM_ADDRESSES)
			__builtin_trap();
		for (i = 0; i < l.count; i++)
			fuzz_check_addr(&l.addrs[i], false);
	} else if (r != -EBADMSG || err.why == NULL || err.offset > size) {
		__builtin_trap();
	}
	err.why = NULL;
	r = addr_parse_path(a, (const char *)data, size, &p, &err);
	if (r == 0)
		fuzz_check_addr(&p.mailbox, p.null_sender);
	else if (r != -EBADMSG || err.why == NULL || err.offset > size)
		__builtin_trap();
	arena_free(a);
	return 0;
}
