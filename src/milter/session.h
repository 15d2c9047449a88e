/*
 * session.h -- what the milter does with one SMTP connection and the
 * messages on it, with no libmilter in sight: milter.c turns each
 * libmilter callback into one call here, and applies the edits and the
 * reply that session_eom() returns.
 *
 * Per connection: the client (address, name, internal or not), HELO.
 * Per message: MAIL FROM, {auth_authen}, the queue id, the header fields
 * (into a struct msg), then at the end of the header the decision
 * (DESIGN.md "Signing decision"): a client in InternalHosts, an
 * authenticated client or a local submission (Postfix's
 * non_smtpd_milters path) whose From domain has a key is signed (every
 * matching key); everything else is verified through verdict.h (Mode
 * decides whether either is done at all). The body is streamed into the
 * signer or the verdict: memory per message is O(headers).
 *
 * ARC (RFC 8617; config_arc_seals() says which mail): verified mail is
 * sealed by the verdict, its AAR the Authentication-Results we add. A
 * message from a submission client in ARCSealHosts (the list software
 * re-injecting what it changed) that carries our Authentication-Results
 * from when it arrived is not verified again: it is signed when it can
 * be and sealed with those results (their arc= the chain status) as the
 * AAR. The new set goes on top of the header.
 *
 * What is done with a verified message is action.h's decision (the CLI
 * prints the same one). Message content is never an internal error: a
 * header past the bounds is evaluated on what msg.h kept. Never lose
 * mail: an internal failure (ENOMEM, an OpenSSL error) makes the message
 * end in the OnInternalError action (default: accept, with temperror in
 * the Authentication-Results header and the log), never in a crash.
 *
 * Memory: a session is heap-allocated per connection and owns one arena
 * that is reset for every message; the outcome returned by session_eom()
 * lives in that arena until the next message starts. A session holds a
 * reference on the struct session_conf it was created with, so a SIGHUP
 * never changes the rules under a connection in flight.
 *
 * Thread rules: a session belongs to one connection thread. A
 * session_conf is immutable once built and shared by all threads through
 * its atomic reference count.
 */
#ifndef AUTHMILTER_SESSION_H
#define AUTHMILTER_SESSION_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "authmilter/action.h"
#include "authmilter/arc.h"
#include "authmilter/buf.h"
#include "authmilter/config.h"
#include "authmilter/dmarc.h"
#include "authmilter/dns.h"
#include "authmilter/failure.h"
#include "authmilter/orgdomain.h"

struct sockaddr;
struct observe;

struct dkim_key_cache;

/* A shared resolver (the DNS cache in front of dns_ldns) and the cache of
 * parsed DKIM keys (dkim_key_cache.h) that every connection verifies
 * through, refcounted so that a reload that keeps the DNS options keeps
 * both caches (one that changes them starts both afresh; connections in
 * flight keep the old ones until they end). */
struct session_dns {
	atomic_uint refs;
	struct dns_resolver *resolver; /* owned */
	struct dkim_key_cache *keys;   /* owned; BOUND_KEY_CACHE_ENTRIES */
	char *key; /* the DNS options it was built from, to compare */
};

/* A loaded configuration and what the milter derives from it once:
 * the header name lists, the organizational-domain context, the action
 * policy and the DMARC options it gives, and the resolver. */
struct session_conf {
	atomic_uint refs;
	struct config *cfg;    /* one reference, owned */
	struct orgdomain *org; /* owned */
	struct action_policy policy;
	struct dmarc_options dmarc;
	const char **sign_headers; /* NULL = dkim_sign's default */
	size_t n_sign_headers;
	const char **oversign; /* may be NULL */
	size_t n_oversign;
	struct session_dns *dns;             /* one reference, owned */
	struct failure_options fail;         /* FailureReports (failure.h) */
	struct dmarc_forwarder *arc_sealers; /* TrustedARCSealers */
	struct arc_seal_options arc_seal;    /* ARC sealing (key borrowed from
	                                      * cfg); unused without a key */
	struct observe *obs; /* the daemon's metrics (borrowed, outlives
	                      * every snapshot), or NULL: off */
};

/* session_dns_new -- a resolver for cfg's DNS options (Nameservers,
 * DNSTimeout, DNSCacheSize): dns_ldns behind a dns_cache, counting into
 * dm (borrowed; NULL: not counted); and an empty parsed-key cache.
 * @return 0 and *ret (refcount 1); -errno with a line in errors. */
int session_dns_new(const struct config *cfg, const struct dns_metrics *dm,
    struct session_dns **ret, struct buf *errors);
/* session_dns_matches -- whether d was built from the DNS options of
 * cfg (so a reload may keep it). */
bool session_dns_matches(const struct session_dns *d, const struct config *cfg);
struct session_dns *session_dns_ref(struct session_dns *d);
/* session_dns_unref -- NULL is a no-op. @return NULL */
struct session_dns *session_dns_unref(struct session_dns *d);

/* session_conf_new -- wrap cfg (its reference is taken over, also on
 * error) with what the milter derives from it and the resolver dns (a
 * new reference is taken).
 * @return 0 and *ret (refcount 1); -errno with lines in errors. */
int session_conf_new(struct config *cfg, struct session_dns *dns,
    struct session_conf **ret, struct buf *errors);
struct session_conf *session_conf_ref(struct session_conf *c);
/* session_conf_unref -- NULL is a no-op. @return NULL */
struct session_conf *session_conf_unref(struct session_conf *c);

/* What session_eom() asks the MTA to do. */
enum session_reply {
	SESSION_CONTINUE = 0, /* accept the message (with the edits) */
	SESSION_REJECT,       /* 5xx: code, xcode, text */
	SESSION_TEMPFAIL,     /* 4xx: code, xcode, text */
};

enum session_edit_kind {
	SESSION_EDIT_INSERT, /* insert name: value at the top */
	SESSION_EDIT_DELETE, /* delete the index-th field named name
	                      * (1-based, among fields of that name) */
};

/* One header edit, to be applied in array order. Values are folded with
 * LF TAB (the MTA's form, for smfi_insheader). */
struct session_edit {
	enum session_edit_kind kind;
	const char *name;
	const char *value; /* INSERT only */
	int index;         /* DELETE only */
};

struct session_outcome {
	enum session_reply reply;
	const char *code, *xcode, *text;  /* REJECT/TEMPFAIL */
	const char *quarantine;           /* non-NULL: hold with this reason */
	const struct session_edit *edits; /* arena-owned */
	size_t n_edits;
};

struct session;

/* session_new -- a session for one connection under conf (a reference
 * is taken). @return the session (free with session_free), or NULL on
 * ENOMEM. */
struct session *session_new(struct session_conf *conf);
/* session_free -- end the connection: NULL is a no-op. @return NULL */
struct session *session_free(struct session *s);

/* session_wants_rcpt -- whether RCPT events are useful (the spool's
 * envelope_to); else the milter asks the MTA not to send them. */
bool session_wants_rcpt(const struct session *s);

/* session_connect -- the client: hostname as the MTA gives it ("localhost"
 * and no address for local submission), sa its address (AF_INET,
 * AF_INET6) or NULL. */
void session_connect(
    struct session *s, const char *hostname, const struct sockaddr *sa);
/* session_helo -- the HELO/EHLO name (borrowed for the call). */
void session_helo(struct session *s, const char *name);
/* session_envfrom -- a message starts: the MAIL FROM path, the
 * {auth_authen}, {daemon_name} and {i} macros (each may be NULL).
 * The previous message's memory is released. */
void session_envfrom(struct session *s, const char *path,
    const char *auth_authen, const char *daemon_name, const char *queue_id);
/* session_rcpt -- one RCPT TO path (only the first is kept). */
void session_rcpt(struct session *s, const char *path);
/* session_header -- one header field; value as the MTA gives it (with
 * leading space when leadspc, folds as bare LF). */
void session_header(
    struct session *s, const char *name, const char *value, bool leadspc);
/* session_eoh -- the header is complete: decide, start signing or
 * verifying. */
void session_eoh(struct session *s);
/* session_body -- len more body bytes. */
void session_body(struct session *s, const uint8_t *chunk, size_t len);
/* session_eom -- finish the message; queue_id is {i} when the MTA gives
 * it only now (may be NULL). *ret stays valid until the next call of
 * session_envfrom/session_abort/session_free. Logs the message line. */
void session_eom(
    struct session *s, const char *queue_id, struct session_outcome *ret);
/* session_abort -- the message was abandoned (RSET, lost connection). */
void session_abort(struct session *s);

#endif
