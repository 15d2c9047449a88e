/*
 * span.c -- tests on counted strings (see span.h).
 */
#include <string.h>
#include <strings.h>

#include "authmilter/span.h"

bool
span_eq(const char *s, size_t n, const char *word)
{
	return strlen(word) == n && strncasecmp(s, word, n) == 0;
}

static bool
span_is_fws(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

bool
span_list_next(
    const char *v, size_t n, size_t *pos, const char **ret, size_t *ret_len)
{
	size_t start = *pos, end;

	if (start > n)
		return false;
	end = start;
	while (end < n && v[end] != ':')
		end++;
	*pos = end + 1;
	while (start < end && span_is_fws(v[start]))
		start++;
	while (end > start && span_is_fws(v[end - 1]))
		end--;
	*ret = v + start;
	*ret_len = end - start;
	return true;
}

bool
span_list_has(const char *v, size_t n, const char *word)
{
	const char *e;
	size_t pos = 0, len;

	while (span_list_next(v, n, &pos, &e, &len))
		if (span_eq(e, len, word))
			return true;
	return false;
}

bool
span_in_domain(const char *name, size_t n, const char *domain)
{
	size_t dl = strlen(domain);

	if (n == dl)
		return strncasecmp(name, domain, dl) == 0;
	return n > dl && name[n - dl - 1] == '.' &&
	       strncasecmp(name + n - dl, domain, dl) == 0;
}
