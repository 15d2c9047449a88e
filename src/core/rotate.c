/*
 * rotate.c -- the key rotation state machine (see rotate.h): what each
 * phase waits for, and the one table of which event moves which phase
 * where.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "authmilter/rotate.h"
#include "authmilter/xalloc.h"

static const char *const rotate_phase_names[ROTATE_N_PHASES] = {
    [ROTATE_IDLE] = "idle",
    [ROTATE_GENERATED] = "generated",
    [ROTATE_PUBLISHED] = "published",
    [ROTATE_VISIBLE] = "visible",
    [ROTATE_SWITCHED] = "switched",
    [ROTATE_RETIRED] = "retired",
};

static const char *const rotate_event_names[ROTATE_N_EVENTS] = {
    [ROTATE_EV_GENERATED] = "generated",
    [ROTATE_EV_PUBLISHED] = "published",
    [ROTATE_EV_VISIBLE] = "visible",
    [ROTATE_EV_SWITCHED] = "switched",
    [ROTATE_EV_LOADED] = "loaded",
    [ROTATE_EV_REMOVED] = "removed",
    [ROTATE_EV_REVOKED] = "revoked",
    [ROTATE_EV_REVEALED] = "revealed",
    [ROTATE_EV_WAITING] = "waiting",
    [ROTATE_EV_FAILED] = "failed",
};

/* The transitions: the one event that moves each phase on (two for
 * switched: with RotateReveal the old records are revoked first). Any
 * other event cannot happen in a phase, but waiting and failing, which
 * change nothing. */
static const struct {
	enum rotate_phase from;
	enum rotate_event ev;
	enum rotate_phase to;
} rotate_edges[] = {
    {ROTATE_IDLE, ROTATE_EV_GENERATED, ROTATE_GENERATED},
    {ROTATE_GENERATED, ROTATE_EV_PUBLISHED, ROTATE_PUBLISHED},
    {ROTATE_PUBLISHED, ROTATE_EV_VISIBLE, ROTATE_VISIBLE},
    {ROTATE_VISIBLE, ROTATE_EV_SWITCHED, ROTATE_SWITCHED},
    {ROTATE_SWITCHED, ROTATE_EV_LOADED, ROTATE_SWITCHED},
    {ROTATE_SWITCHED, ROTATE_EV_REMOVED, ROTATE_IDLE},
    {ROTATE_SWITCHED, ROTATE_EV_REVOKED, ROTATE_RETIRED},
    {ROTATE_RETIRED, ROTATE_EV_REVEALED, ROTATE_IDLE},
};

enum rotate_action
rotate_plan(const struct rotate_domain *d, const struct rotate_policy *p,
    int64_t now, int64_t *ret_until)
{
	int64_t t;

	*ret_until = 0;
	switch (d->phase) {
	case ROTATE_IDLE:
		/* the first rotation of a domain starts when rotation is
		 * turned on; then one interval after each switch */
		t = d->switched > 0 ? d->switched + p->interval : now;
		break;
	case ROTATE_GENERATED:
		return ROTATE_ACT_PUBLISH;
	case ROTATE_PUBLISHED:
		return ROTATE_ACT_CHECK;
	case ROTATE_VISIBLE:
		/* negative answers cached before publication expire first */
		t = d->wait_until;
		if (now >= t)
			return ROTATE_ACT_SWITCH;
		*ret_until = t;
		return ROTATE_ACT_WAIT;
	case ROTATE_SWITCHED:
		if (d->confirmed == 0)
			return ROTATE_ACT_CONFIRM;
		/* mail signed with the old keys is still in queues and being
		 * verified: their records stay for the overlap */
		t = d->confirmed + p->overlap;
		if (now >= t)
			return ROTATE_ACT_RETIRE;
		*ret_until = t;
		return ROTATE_ACT_WAIT;
	case ROTATE_RETIRED:
		/* caches hold the old records until their TTL is over: the
		 * key is revealed only once nobody can still accept it */
		t = d->wait_until;
		if (now >= t)
			return ROTATE_ACT_REVEAL;
		*ret_until = t;
		return ROTATE_ACT_WAIT;
	case ROTATE_N_PHASES:
	default:
		panic("rotate_plan: phase %d", (int)d->phase);
	}
	if (now >= t)
		return ROTATE_ACT_GENERATE;
	*ret_until = t;
	return ROTATE_ACT_WAIT;
}

int
rotate_next_phase(enum rotate_phase phase, enum rotate_event ev)
{
	size_t i;

	if ((unsigned)phase >= ROTATE_N_PHASES ||
	    (unsigned)ev >= ROTATE_N_EVENTS)
		return -1;
	if (ev == ROTATE_EV_WAITING || ev == ROTATE_EV_FAILED)
		return (int)phase;
	for (i = 0; i < sizeof(rotate_edges) / sizeof(*rotate_edges); i++)
		if (rotate_edges[i].from == phase && rotate_edges[i].ev == ev)
			return (int)rotate_edges[i].to;
	return -1;
}

/* Drop d's keys of role r. */
static void
rotate_drop_role(struct rotate_domain *d, enum rotate_role r)
{
	size_t i, o = 0;

	for (i = 0; i < d->n_keys; i++) {
		if (d->keys[i].role == r)
			free(d->keys[i].path);
		else
			d->keys[o++] = d->keys[i];
	}
	memset(&d->keys[o], 0, (d->n_keys - o) * sizeof(d->keys[0]));
	d->n_keys = o;
}

int
rotate_apply(struct rotate_domain *d, enum rotate_event ev, int64_t now)
{
	int next = rotate_next_phase(d->phase, ev);
	size_t i;

	if (next < 0)
		return -EINVAL;
	if (ev == ROTATE_EV_WAITING || ev == ROTATE_EV_FAILED)
		return 0;
	switch (ev) {
	case ROTATE_EV_SWITCHED:
		for (i = 0; i < d->n_keys; i++) {
			if (d->keys[i].role == ROTATE_CURRENT)
				d->keys[i].role = ROTATE_OLD;
			else if (d->keys[i].role == ROTATE_NEXT)
				d->keys[i].role = ROTATE_CURRENT;
		}
		d->switched = now;
		d->confirmed = 0;
		break;
	case ROTATE_EV_LOADED:
		d->confirmed = now;
		break;
	case ROTATE_EV_REMOVED:
	case ROTATE_EV_REVEALED:
		rotate_drop_role(d, ROTATE_OLD);
		d->wait_until = 0;
		break;
	default:
		break;
	}
	if ((int)d->phase != next) {
		d->phase = (enum rotate_phase)next;
		d->since = now;
	}
	return 0;
}

const char *
rotate_phase_name(enum rotate_phase p)
{
	return (unsigned)p < ROTATE_N_PHASES ? rotate_phase_names[p] : "?";
}

const char *
rotate_event_name(enum rotate_event e)
{
	return (unsigned)e < ROTATE_N_EVENTS ? rotate_event_names[e] : "?";
}

const char *
rotate_role_name(enum rotate_role r)
{
	switch (r) {
	case ROTATE_CURRENT:
		return "current";
	case ROTATE_NEXT:
		return "next";
	case ROTATE_OLD:
		break;
	}
	return "old";
}

int
rotate_phase_parse(const char *s, size_t n, enum rotate_phase *ret)
{
	int i;

	for (i = 0; i < ROTATE_N_PHASES; i++) {
		if (strlen(rotate_phase_names[i]) == n &&
		    strncasecmp(s, rotate_phase_names[i], n) == 0) {
			*ret = (enum rotate_phase)i;
			return 0;
		}
	}
	return -EINVAL;
}

size_t
rotate_keys_count(const struct rotate_domain *d, enum rotate_role r)
{
	size_t i, n = 0;

	for (i = 0; i < d->n_keys; i++)
		n += d->keys[i].role == r;
	return n;
}

/* RFC 6376 section 3.1: a selector is sub-domains (RFC 5321 section
 * 4.1.2: Let-dig [Ldh-str]); we make one label. */
static bool
rotate_label_ok(const char *s, size_t n)
{
	size_t i;

	if (n == 0 || n > BOUND_LABEL_LEN || !isalnum((unsigned char)s[0]) ||
	    !isalnum((unsigned char)s[n - 1]))
		return false;
	for (i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '-')
			return false;
	return true;
}

int
rotate_selector(const char *pattern, int64_t when, enum dkim_key_type type,
    char *out, size_t cap)
{
	time_t t = (time_t)when;
	char conv[3] = {'%', 0, 0}, piece[32];
	const char *p;
	struct tm tm;
	size_t o = 0, n;

	if (cap == 0 || gmtime_r(&t, &tm) == NULL)
		return -ERANGE;
	for (p = pattern; *p != '\0'; p++) {
		if (*p != '%') {
			piece[0] = *p;
			n = 1;
		} else if (*++p == 't') {
			n = (size_t)snprintf(piece, sizeof(piece), "%s",
			    dkim_key_type_name(type));
		} else if (*p != '\0' && strchr("YmdHMS", *p) != NULL) {
			conv[1] = *p;
			n = strftime(piece, sizeof(piece), conv, &tm);
		} else {
			return -EINVAL;
		}
		if (n >= cap - o)
			return -ERANGE;
		memcpy(out + o, piece, n);
		o += n;
	}
	out[o] = '\0';
	return rotate_label_ok(out, o) ? 0 : -EINVAL;
}
