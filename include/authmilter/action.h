/*
 * action.h -- the one enforcement decision: a verdict (verdict.h) and the
 * local policy (the options of authmilter.conf(5)) give what is done with
 * the message: accept, reject with an SMTP reply, quarantine, or
 * tempfail. The milter applies it and `authmilter verify` prints it; both
 * call action_decide(), so for the same message, envelope and options
 * they cannot disagree.
 *
 * Mail the milter does not verify at all (action_unverified: Mode
 * without v, ExternalIgnoreList) is accepted unchanged. For the rest,
 * first match wins:
 *   1. nothing could be evaluated (verdict.unevaluable: a From field past
 *      every header bound)          reject 552 5.3.4 (RFC 3463: message
 *                                   too big for system), saying why
 *   2. SPFRejectFail and SPF fail   reject 550 5.7.23 (RFC 7372)
 *   3. DMARC disposition reject     reject 550 5.7.1, naming the policy
 *                                   domain (RejectFailures no caps the
 *                                   disposition at quarantine before
 *                                   this: action_dmarc_options)
 *   4. RequiredFrom, not a local submission, and no From field or no
 *      domain in it                 reject 550 5.7.1 (RFC 5322 section
 *                                   3.6: exactly one From)
 *   5. DMARC disposition quarantine Quarantine hold: quarantine;
 *                                   Quarantine header: accept
 *   6. DMARC temperror              OnDNSError: accept, or tempfail 451
 *                                   4.7.5
 *   7. otherwise                    accept
 * An internal failure (ENOMEM, an OpenSSL error: never message content)
 * is action_internal_error(): OnInternalError's accept, tempfail 451
 * 4.3.0 or reject 550 5.3.0.
 *
 * Memory: strings in struct action are static or live in the arena given
 * to action_decide(). Thread rules: none (pure functions).
 */
#ifndef AUTHMILTER_ACTION_H
#define AUTHMILTER_ACTION_H

#include <stdbool.h>

#include "authmilter/arena.h"
#include "authmilter/config.h"
#include "authmilter/dmarc.h"
#include "authmilter/verdict.h"

enum action_kind {
	ACTION_ACCEPT = 0,
	ACTION_QUARANTINE, /* accept into the MTA's hold queue */
	ACTION_TEMPFAIL,   /* 4xx reply */
	ACTION_REJECT,     /* 5xx reply */
};

/* The options that decide an action (authmilter.conf(5), "Policy" and
 * RequiredFrom). */
struct action_policy {
	bool reject_failures;                 /* RejectFailures */
	enum config_quarantine quarantine;    /* Quarantine */
	enum config_action on_dns_error;      /* OnDNSError */
	enum config_action on_internal_error; /* OnInternalError */
	bool spf_reject_fail;                 /* SPFRejectFail */
	bool required_from;                   /* RequiredFrom */
};

struct action {
	enum action_kind kind;
	const char *code;  /* "550", "552", "451": REJECT, TEMPFAIL;
	                    * else NULL */
	const char *xcode; /* RFC 3463 enhanced status code, or NULL */
	const char *text;  /* the reply text (printable ASCII, no '%':
	                    * smfi_setreply reads it as a format), the
	                    * quarantine reason, or NULL */
	const char *why;   /* a few words for the log line (static), or
	                    * NULL when the action says it all */
};

/* action_policy_from_config -- the policy options of cfg. */
void action_policy_from_config(
    const struct config *cfg, struct action_policy *ret);

/* action_dmarc_options -- the DMARC options p asks for: with
 * RejectFailures no the disposition is capped at quarantine (recorded as
 * local_policy in reports). Trusted forwarders are left empty. */
void action_dmarc_options(
    const struct action_policy *p, struct dmarc_options *ret);

/* action_forwarder -- whether cfg's TrustedForwarders lists the client
 * (client_ip textual, hostname may be NULL); then *ret is the client as a
 * DMARC trusted forwarder (dmarc_options.forwarders). */
bool action_forwarder(const struct config *cfg, const char *client_ip,
    const char *hostname, struct dmarc_forwarder *ret);

/* action_arc_sealers -- cfg's TrustedARCSealers as DMARC trusted ARC
 * sealers (dmarc_options.arc_sealers) into ret, which has room for
 * cfg->trusted_arc_sealers.n. @return how many; -EINVAL with *bad the
 * entry that is not a domain (an IP address). */
int action_arc_sealers(
    const struct config *cfg, struct dmarc_forwarder *ret, const char **bad);

/* action_unverified -- why the milter does not verify mail from this
 * client at all (it accepts it unchanged), or NULL: Mode without v, or a
 * client in ExternalIgnoreList that is not submitting (submit: in
 * InternalHosts, authenticated or a local submission). ip may be NULL
 * (unknown), hostname too. */
const char *action_unverified(const struct config *cfg,
    const struct table_ip *ip, const char *hostname, bool submit);

/* action_decide -- the action for verdict v under p; local: the message
 * was submitted locally (Postfix's non_smtpd_milters path), where
 * RequiredFrom does not apply (Postfix adds a From there).
 * @return 0 and *ret; -ENOMEM (a reply text in a). */
int action_decide(const struct verdict *v, const struct action_policy *p,
    bool local, struct arena *a, struct action *ret);

/* action_internal_error -- the action when evaluating failed inside
 * authmilter (OnInternalError). */
void action_internal_error(const struct action_policy *p, struct action *ret);

/* action_name -- "accept", "quarantine", "tempfail", "reject". */
const char *action_name(enum action_kind k);

#endif
