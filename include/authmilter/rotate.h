/*
 * rotate.h -- DKIM key rotation: the per-domain state machine and the
 * state file that holds it.
 *
 * A domain goes round these phases, one step per `authmilter rotate`
 * run, each step only once the one before is confirmed:
 *
 *   idle ------> generated --> published --> visible --> switched --+
 *    ^  interval     next keys    records       seen at every  new keys |
 *    |  over         written      sent (UPDATE)  authoritative sign;      |
 *    |                            or printed     server and the  overlap  |
 *    |                                           resolver        over     |
 *    +---------------------- old records removed ---------------------+
 *    +-- revealed <-- retired <-- old records revoked (RotateReveal) --+
 *
 * The machine itself is pure (this file): rotate_plan() says what a
 * domain needs next at a given time, rotate_apply() moves it on when an
 * event happened. Doing the work (keys, DNS, the daemon) is the
 * caller's; a failed or unfinished step changes nothing, so the key that
 * signs now keeps signing.
 *
 * The state file (rotate_state_*) is the rotation's own table: for each
 * domain its phase, times, and keys (current: what the daemon signs
 * with; next: being published; old: being retired). It is written by
 * `authmilter rotate` only, atomically (temporary file, fsync, rename,
 * fsync of the directory), and read by the daemon at start and on
 * SIGHUP, which is how signing switches: one rename, one reload. Format,
 * one record per line, '#' comment lines and blank lines ignored:
 *
 *   authmilter-rotate 1
 *   generation N
 *   domain NAME phase=P since=T switched=T confirmed=T gen=N wait=T
 *   key NAME ROLE TYPE SELECTOR ORIGIN created=T PATH
 *
 * with P a phase name, T seconds since the epoch (0: never), ROLE
 * current|next|old, TYPE rsa|ed25519, ORIGIN rotate (made by rotation:
 * PATH is its private key file, deleted when it retires) or operator (a
 * key of the operator's tables that rotation replaced: PATH is "-",
 * rotation never reads or deletes it). Key lines follow their domain.
 * "generation" counts the writes; the daemon writes the generation it
 * loaded to the acknowledgement file (rotate_state_ack_write), so
 * rotation knows when the new keys sign.
 *
 * Memory: a struct rotate_state owns its domains and their strings
 * (rotate_state_free). Not thread-safe; the daemon only reads a file.
 */
#ifndef AUTHMILTER_ROTATE_H
#define AUTHMILTER_ROTATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "authmilter/bounds.h"
#include "authmilter/buf.h"
#include "authmilter/dkim_alg.h"

enum rotate_phase {
	ROTATE_IDLE = 0,
	ROTATE_GENERATED,
	ROTATE_PUBLISHED,
	ROTATE_VISIBLE,
	ROTATE_SWITCHED,
	ROTATE_RETIRED,
	ROTATE_N_PHASES
};

enum rotate_role {
	ROTATE_CURRENT = 0,
	ROTATE_NEXT,
	ROTATE_OLD,
};

/* What happened in one step. */
enum rotate_event {
	ROTATE_EV_GENERATED = 0, /* next keys written */
	ROTATE_EV_PUBLISHED,     /* their records sent or printed */
	ROTATE_EV_VISIBLE,       /* seen everywhere, as published */
	ROTATE_EV_SWITCHED,      /* next keys made current, daemon told */
	ROTATE_EV_LOADED,        /* the daemon acknowledged them */
	ROTATE_EV_REMOVED,       /* the old records are gone */
	ROTATE_EV_REVOKED,       /* the old records say p= (reveal next) */
	ROTATE_EV_REVEALED,      /* the old private keys are published */
	ROTATE_EV_WAITING,       /* not yet: nothing changes */
	ROTATE_EV_FAILED,        /* an error: nothing changes */
	ROTATE_N_EVENTS
};

/* What a domain needs next. */
enum rotate_action {
	ROTATE_ACT_WAIT = 0, /* nothing until a time */
	ROTATE_ACT_GENERATE,
	ROTATE_ACT_PUBLISH,
	ROTATE_ACT_CHECK, /* are the next records visible? */
	ROTATE_ACT_SWITCH,
	ROTATE_ACT_CONFIRM, /* has the daemon loaded the new keys? */
	ROTATE_ACT_RETIRE,
	ROTATE_ACT_REVEAL,
};

struct rotate_key {
	enum rotate_role role;
	enum dkim_key_type type;
	char selector[BOUND_LABEL_LEN + 1];
	bool owned;      /* made by rotation (else: the operator's) */
	int64_t created; /* 0 for an operator's key */
	char *path;      /* owned: the private key file; else NULL */
};

struct rotate_domain {
	char *name; /* lower-case, no final dot */
	enum rotate_phase phase;
	int64_t since;       /* when the phase began */
	int64_t switched;    /* when the current keys took over; 0: never
	                      * (the operator's tables sign) */
	int64_t confirmed;   /* when the daemon loaded them; 0: not yet */
	uint64_t switch_gen; /* the generation that made them current */
	int64_t wait_until;  /* visible: negative caches expire; retired:
	                      * the revoked records' TTL is over */
	struct rotate_key keys[BOUND_ROTATE_KEYS];
	size_t n_keys;
};

struct rotate_state {
	uint64_t generation; /* writes so far */
	struct rotate_domain *domains;
	size_t n_domains;
};

/* The timing rules of the machine. */
struct rotate_policy {
	int64_t interval; /* from one switch to the next rotation */
	int64_t overlap;  /* old records stay after the daemon switched */
	bool reveal;      /* revoke, then reveal, old keys */
};

/* ---- the machine (rotate.c) ---- */

/* rotate_plan -- what d needs at now. For ROTATE_ACT_WAIT *ret_until is
 * when that changes. The first rotation of a domain (never switched)
 * starts at once. */
enum rotate_action rotate_plan(const struct rotate_domain *d,
    const struct rotate_policy *p, int64_t now, int64_t *ret_until);

/* rotate_next_phase -- the phase after ev in phase, or -1 when ev cannot
 * happen there. */
int rotate_next_phase(enum rotate_phase phase, enum rotate_event ev);

/* rotate_apply -- move d on after ev at now: the phase, its start, and
 * for SWITCHED the roles (current -> old, next -> current, the switch
 * time; the caller sets switch_gen), for LOADED the confirmation time,
 * for REMOVED and REVEALED the old keys leave the state (their files
 * are the caller's to delete first). WAITING and FAILED change nothing.
 * @return 0, or -EINVAL when ev cannot happen in d's phase (nothing is
 * changed). */
int rotate_apply(struct rotate_domain *d, enum rotate_event ev, int64_t now);

/* Names, as in the state file and the log. */
const char *rotate_phase_name(enum rotate_phase p);
const char *rotate_event_name(enum rotate_event e);
const char *rotate_role_name(enum rotate_role r);

/* rotate_phase_parse -- a phase by name (n bytes). @return 0 or -EINVAL */
int rotate_phase_parse(const char *s, size_t n, enum rotate_phase *ret);

/* rotate_keys_count -- how many of d's keys have role r. */
size_t rotate_keys_count(const struct rotate_domain *d, enum rotate_role r);

/* rotate_selector -- a selector from pattern (RotateSelector) for a key
 * of type made at when (UTC): %Y %m %d %H %M %S as strftime(3) writes
 * them, %t the key type ("rsa", "ed25519").
 * @return 0 and the selector in out; -EINVAL for another % code or a
 * result that is not one selector label (RFC 6376 section 3.1: letters,
 * digits and '-', starting and ending with a letter or digit, at most
 * 63 bytes); -ERANGE when it does not fit cap. */
int rotate_selector(const char *pattern, int64_t when, enum dkim_key_type type,
    char *out, size_t cap);

/* ---- the state file (rotate_state.c) ---- */

/* rotate_state_parse -- text (len bytes, any bytes) of a state file that
 * label names in reasons; the file format above, every rule checked
 * (version, fields, names, at most BOUND_ROTATE_DOMAINS domains and
 * BOUND_ROTATE_KEYS keys each, roles that fit the phase).
 * @return 0 and *ret (rotate_state_free); -EINVAL with one line
 * "label:line: reason" appended to why (may be NULL); -ENOMEM. */
int rotate_state_parse(const char *text, size_t len, const char *label,
    struct rotate_state *ret, struct buf *why);

/* rotate_state_format -- s as state file text, appended to out. Errors
 * are out's sticky error. */
void rotate_state_format(const struct rotate_state *s, struct buf *out);

/* rotate_state_load -- read and parse the file at path. A missing file
 * is an empty state (generation 0).
 * @return 0 and *ret; -EINVAL (parse), -errno (read) with a reason. */
int rotate_state_load(
    const char *path, struct rotate_state *ret, struct buf *why);

/* rotate_state_save -- write s to path atomically: a temporary file in
 * the same directory (mode 0640), fsync, rename over path, fsync of the
 * directory. @return 0 or -errno with a reason. */
int rotate_state_save(
    const char *path, const struct rotate_state *s, struct buf *why);

/* rotate_state_domain -- the domain named name (case-insensitive), or
 * NULL; with create, a new idle one is added when missing (NULL on
 * ENOMEM or past BOUND_ROTATE_DOMAINS). */
struct rotate_domain *rotate_state_domain(
    struct rotate_state *s, const char *name, bool create);

/* rotate_state_add_key -- append a key to d (path copied; NULL for an
 * operator's key). @return it, or NULL past BOUND_ROTATE_KEYS / ENOMEM. */
struct rotate_key *rotate_state_add_key(struct rotate_domain *d,
    enum rotate_role role, enum dkim_key_type type, const char *selector,
    bool owned, int64_t created, const char *path);

/* rotate_state_free -- release everything s holds; s is then empty. */
void rotate_state_free(struct rotate_state *s);

/* rotate_state_ack_write -- the daemon's acknowledgement: path holds
 * "loaded GENERATION PID\n", written atomically. @return 0 or -errno. */
int rotate_state_ack_write(const char *path, uint64_t generation, long pid);

/* rotate_state_ack_read -- the generation the daemon last loaded.
 * @return 0 and *ret_generation (0 when the file is missing), -EINVAL
 * for a malformed file, -errno. */
int rotate_state_ack_read(const char *path, uint64_t *ret_generation);

#endif
