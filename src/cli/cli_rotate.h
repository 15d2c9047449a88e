/*
 * cli_rotate.h -- private to `authmilter rotate` (cli_rotate.c runs the
 * steps, cli_rotate_dns.c asks and changes DNS for them).
 *
 * One run holds the configuration, the state file (locked), the clock
 * (--now) and the resolvers; each domain gets one line saying what
 * happened and what it waits for.
 */
#ifndef AUTHMILTER_CLI_ROTATE_H
#define AUTHMILTER_CLI_ROTATE_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>

#include "authmilter/buf.h"
#include "authmilter/config.h"
#include "authmilter/dkim_privkey.h"
#include "authmilter/dns.h"
#include "authmilter/dns_update.h"
#include "authmilter/rotate.h"

/* Recursive resolvers taken from Nameservers (the rest are not asked). */
#define ROT_RESOLVERS 8

struct rot_run {
	struct config *cfg;
	int64_t now;
	bool dry_run;
	struct rotate_state st;
	char state_path[PATH_MAX];
	char ack_path[PATH_MAX];
	struct rotate_policy pol;
	struct dns_update_server resolvers[ROT_RESOLVERS];
	struct dns_update_resolver res; /* for SOA, NS, addresses */
	struct dns_resolver *dns;       /* the world's view: the milter's
	                                 * resolver, no cache */
	unsigned timeout_ms;
};

/* What a published record must look like. */
enum rot_expect {
	ROT_EXPECT_KEY,     /* the public half of key */
	ROT_EXPECT_ABSENT,  /* no TXT record (NXDOMAIN or NODATA) */
	ROT_EXPECT_REVOKED, /* a key record with an empty p= */
	ROT_EXPECT_EXACT,   /* exactly data (len bytes) */
};

struct rot_record {
	char name[BOUND_DOMAIN_LEN + 1];
	enum rot_expect expect;
	const struct dkim_privkey *key;
	const char *data;
	size_t len;
};

/* The verdict of a visibility check. */
enum rot_seen {
	ROT_SEEN = 0, /* every server and the resolver, as expected */
	ROT_NOT_YET,  /* somewhere not yet: wait */
	ROT_WRONG,    /* an authoritative server serves something else
	               * (or our keys cannot be read): stop with an
	               * error */
};

/* rot_visible -- check every record at every authoritative server of
 * its zone (each NS name at one address at least; every address that
 * answers must answer as expected) and, with resolver, through the
 * configured resolver. *ret_neg_wait (may be NULL) gets the zone's
 * negative-caching time (RFC 2308 section 5: at most the SOA MINIMUM),
 * capped at BOUND_ROTATE_NEG_WAIT. why says where it stands: what was
 * seen, or the first thing missing or wrong. */
enum rot_seen rot_visible(struct rot_run *r, const struct rot_record *recs,
    size_t n, bool resolver, uint32_t *ret_neg_wait, struct buf *why);

/* rot_update -- one UPDATE (dns_update_send) with the changes to the zone
 * of changes[0].name, at RotateUpdateServer or else the zone's primary
 * (SOA MNAME) on port 53, signed with RotateTSIGKey.
 * @return dns_update_send()'s value, with the reason in why. */
int rot_update(struct rot_run *r, const struct dns_update_change *changes,
    size_t n, struct buf *why);

/* rot_primary_txt -- the TXT answer for name at the server updates go to
 * (to tell, after a YXRRSET, whether the record there is ours).
 * @return 0 and *ret, or -errno with why. */
int rot_primary_txt(struct rot_run *r, const char *name,
    struct dns_answer **ret, struct buf *why);

#endif
