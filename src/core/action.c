/*
 * action.c -- verdict + local policy -> what is done with the message.
 * See action.h for the order of the rules.
 */
#include <errno.h>
#include <string.h>

#include "authmilter/action.h"
#include "authmilter/buf.h"
#include "authmilter/table.h"

/* Bytes of a reply naming a domain: the text and 253 bytes of name. */
#define ACTION_TEXT_MAX 512

void
action_policy_from_config(const struct config *cfg, struct action_policy *ret)
{
	memset(ret, 0, sizeof(*ret));
	ret->reject_failures = cfg->reject_failures;
	ret->quarantine = cfg->quarantine;
	ret->on_dns_error = cfg->on_dns_error;
	ret->on_internal_error = cfg->on_internal_error;
	ret->spf_reject_fail = cfg->spf_reject_fail;
	ret->required_from = cfg->required_from;
}

void
action_dmarc_options(const struct action_policy *p, struct dmarc_options *ret)
{
	dmarc_options_init(ret);
	if (!p->reject_failures)
		ret->max_policy = DMARC_POLICY_QUARANTINE;
}

bool
action_forwarder(const struct config *cfg, const char *client_ip,
    const char *hostname, struct dmarc_forwarder *ret)
{
	struct table_ip ip;

	if (cfg->trusted_forwarders == NULL || client_ip == NULL ||
	    table_ip_parse(client_ip, &ip) < 0 ||
	    !config_is_trusted_forwarder(cfg, &ip, hostname))
		return false;
	return dmarc_forwarder_parse(client_ip, ret) == 0;
}

int
action_arc_sealers(
    const struct config *cfg, struct dmarc_forwarder *ret, const char **bad)
{
	const struct config_strlist *l = &cfg->trusted_arc_sealers;
	size_t i;

	for (i = 0; i < l->n; i++) {
		/* a sealer is the d= of its ARC-Seal: a domain */
		if (dmarc_forwarder_parse(l->v[i], &ret[i]) < 0 ||
		    ret[i].family != 0) {
			*bad = l->v[i];
			return -EINVAL;
		}
	}
	return (int)l->n;
}

const char *
action_unverified(const struct config *cfg, const struct table_ip *ip,
    const char *hostname, bool submit)
{
	if (!(cfg->mode & CONFIG_MODE_VERIFY))
		return "Mode does not include v";
	if (!submit && config_is_external_ignored(cfg, ip, hostname))
		return "client in ExternalIgnoreList";
	return NULL;
}

static void
action_set(struct action *r, enum action_kind k, const char *code,
    const char *xcode, const char *text, const char *why)
{
	r->kind = k;
	r->code = code;
	r->xcode = xcode;
	r->text = text;
	r->why = why;
}

/* A configured action (OnDNSError, OnInternalError) as a reply. */
static void
action_configured(struct action *r, enum config_action a, const char *code4,
    const char *code5, const char *text, const char *why)
{
	if (a == CONFIG_ACTION_TEMPFAIL)
		action_set(r, ACTION_TEMPFAIL, "451", code4, text, why);
	else if (a == CONFIG_ACTION_REJECT)
		action_set(r, ACTION_REJECT, "550", code5, text, why);
	else
		action_set(r, ACTION_ACCEPT, NULL, NULL, NULL, why);
}

/* "Message rejected by the DMARC policy of DOMAIN": the decisive policy
 * domain (or the author domain standing for those not evaluated), with
 * anything but printable ASCII and '%' replaced. */
static const char *
action_dmarc_text(const struct verdict *v, struct arena *a)
{
	const struct dmarc_author *au = v->dmarc->decisive;
	const char *d = NULL, *t;
	struct buf b;
	size_t i;

	/* the authors past the evaluation bound have no record: they fail
	 * as one under p=reject (dmarc.h) */
	if (au != NULL && au->found == NULL && au->policy_domain == NULL)
		return "Message rejected by DMARC: too many From domains to "
		       "evaluate";
	if (au != NULL)
		d = au->policy_domain;
	if (d == NULL || d[0] == '\0')
		d = "the From domain";
	buf_init(&b, ACTION_TEXT_MAX);
	buf_adds(&b, "Message rejected by the DMARC policy of ");
	for (i = 0; d[i] != '\0' && i < BOUND_DOMAIN_LEN; i++)
		buf_addc(
		    &b, d[i] > 0x20 && d[i] < 0x7f && d[i] != '%' ? d[i] : '?');
	t = buf_error(&b) == 0 ? arena_memdup(a, b.data, b.len) : NULL;
	buf_free(&b);
	return t;
}

/* Rule 1: "Message header too large to evaluate: WHY" (why is one of
 * msg.h's static texts). */
static const char *
action_unevaluable_text(const struct verdict *v, struct arena *a)
{
	static const char prefix[] = "Message header too large to evaluate: ";
	size_t n = strlen(v->unevaluable);
	char *t = arena_alloc(a, sizeof(prefix) + n);

	if (t == NULL)
		return NULL;
	memcpy(t, prefix, sizeof(prefix) - 1);
	memcpy(t + sizeof(prefix) - 1, v->unevaluable, n + 1);
	return t;
}

int
action_decide(const struct verdict *v, const struct action_policy *p,
    bool local, struct arena *a, struct action *ret)
{
	const struct dmarc_result *dm = v->dmarc;
	const char *text;

	memset(ret, 0, sizeof(*ret));
	if (v->unevaluable != NULL) {
		if ((text = action_unevaluable_text(v, a)) == NULL)
			return -ENOMEM;
		action_set(ret, ACTION_REJECT, "552", "5.3.4", text,
		    "header too large");
		return 0;
	}
	/* RFC 7208 section 8.4: a fail MAY be rejected; decided with the
	 * rest of the verdict, so the reply comes at the end of data */
	if (p->spf_reject_fail && v->spf != NULL &&
	    v->spf->result == AUTH_FAIL) {
		action_set(ret, ACTION_REJECT, "550", "5.7.23",
		    "SPF check failed for the MAIL FROM domain", "SPF fail");
		return 0;
	}
	if (dm != NULL && dm->disposition == DMARC_DISP_REJECT) {
		if ((text = action_dmarc_text(v, a)) == NULL)
			return -ENOMEM;
		action_set(ret, ACTION_REJECT, "550", "5.7.1", text, NULL);
		return 0;
	}
	/* RFC 5322 section 3.6: a message has exactly one From */
	if (p->required_from && !local && v->from_state != DMARC_FROM_OK) {
		action_set(ret, ACTION_REJECT, "550", "5.7.1",
		    v->from_state == DMARC_FROM_ABSENT
		        ? "Message has no From header field"
		        : "Message has no domain in its From header field",
		    "RequiredFrom");
		return 0;
	}
	if (dm != NULL && dm->disposition == DMARC_DISP_QUARANTINE) {
		if (p->quarantine == CONFIG_QUARANTINE_HEADER)
			action_set(ret, ACTION_ACCEPT, NULL, NULL, NULL,
			    "Quarantine header");
		else
			action_set(ret, ACTION_QUARANTINE, NULL, NULL,
			    "DMARC policy quarantine", NULL);
		return 0;
	}
	if (dm != NULL && dm->result == AUTH_TEMPERROR) {
		action_configured(ret, p->on_dns_error, "4.7.5", "5.7.5",
		    "DNS lookup failed, try again later", "temperror");
		if (ret->kind != ACTION_ACCEPT)
			ret->why = NULL;
		return 0;
	}
	action_set(ret, ACTION_ACCEPT, NULL, NULL, NULL, NULL);
	return 0;
}

void
action_internal_error(const struct action_policy *p, struct action *ret)
{
	memset(ret, 0, sizeof(*ret));
	action_configured(ret, p->on_internal_error, "4.3.0", "5.3.0",
	    "internal error, try again later", "internal error");
}

const char *
action_name(enum action_kind k)
{
	switch (k) {
	case ACTION_ACCEPT:
		return "accept";
	case ACTION_QUARANTINE:
		return "quarantine";
	case ACTION_TEMPFAIL:
		return "tempfail";
	case ACTION_REJECT:
		return "reject";
	}
	return "accept";
}
