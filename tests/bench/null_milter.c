/*
 * null_milter.c -- a libmilter filter that does nothing, the baseline the
 * milter benchmarks compare authmilter with (DESIGN.md, performance
 * targets: "a libmilter milter that does nothing").
 *
 *   null_milter SOCKET [noreply]
 *     SOCKET   libmilter socket spec (local:/path, inet:PORT@127.0.0.1)
 *     noreply  negotiate no reply for every step that allows it and skip
 *              RCPT, DATA and unknown commands (SMFIP_NR_*, SMFIP_NORCPT,
 *              SMFIP_NODATA, SMFIP_NOUNKNOWN); without it every callback
 *              is registered and answers SMFIS_CONTINUE
 *
 * Runs in the foreground until SIGTERM/SIGINT. Not part of the product.
 */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include <libmilter/mfapi.h>

static bool null_noreply;

static sfsistat
null_connect(SMFICTX *ctx, char *host, struct sockaddr *sa)
{
	(void)ctx;
	(void)host;
	(void)sa;
	return null_noreply ? SMFIS_NOREPLY : SMFIS_CONTINUE;
}

static sfsistat
null_helo(SMFICTX *ctx, char *helo)
{
	(void)ctx;
	(void)helo;
	return null_noreply ? SMFIS_NOREPLY : SMFIS_CONTINUE;
}

static sfsistat
null_args(SMFICTX *ctx, char **argv)
{
	(void)ctx;
	(void)argv;
	return null_noreply ? SMFIS_NOREPLY : SMFIS_CONTINUE;
}

static sfsistat
null_header(SMFICTX *ctx, char *name, char *value)
{
	(void)ctx;
	(void)name;
	(void)value;
	return null_noreply ? SMFIS_NOREPLY : SMFIS_CONTINUE;
}

static sfsistat
null_ctx(SMFICTX *ctx)
{
	(void)ctx;
	return null_noreply ? SMFIS_NOREPLY : SMFIS_CONTINUE;
}

static sfsistat
null_body(SMFICTX *ctx, unsigned char *chunk, size_t len)
{
	(void)ctx;
	(void)chunk;
	(void)len;
	return null_noreply ? SMFIS_NOREPLY : SMFIS_CONTINUE;
}

/* the steps without a no-reply form answer continue in both modes */
static sfsistat
null_continue(SMFICTX *ctx)
{
	(void)ctx;
	return SMFIS_CONTINUE;
}

static sfsistat
null_unknown(SMFICTX *ctx, const char *cmd)
{
	(void)ctx;
	(void)cmd;
	return SMFIS_CONTINUE;
}

static sfsistat
null_negotiate(SMFICTX *ctx, unsigned long f0, unsigned long f1,
    unsigned long f2, unsigned long f3, unsigned long *pf0, unsigned long *pf1,
    unsigned long *pf2, unsigned long *pf3)
{
	unsigned long want = SMFIP_NR_CONN | SMFIP_NR_HELO | SMFIP_NR_MAIL |
	                     SMFIP_NR_RCPT | SMFIP_NR_DATA | SMFIP_NR_UNKN |
	                     SMFIP_NR_HDR | SMFIP_NR_EOH | SMFIP_NR_BODY |
	                     SMFIP_NORCPT | SMFIP_NODATA | SMFIP_NOUNKNOWN;

	(void)ctx;
	(void)f0;
	(void)f2;
	(void)f3;
	*pf0 = 0; /* no actions */
	*pf1 = null_noreply ? (f1 & want) : 0;
	*pf2 = 0;
	*pf3 = 0;
	return SMFIS_CONTINUE;
}

int
main(int argc, char **argv)
{
	struct smfiDesc desc;

	if (argc < 2 || argc > 3 ||
	    (argc == 3 && strcmp(argv[2], "noreply") != 0)) {
		fprintf(stderr, "usage: null_milter SOCKET [noreply]\n");
		return 2;
	}
	null_noreply = argc == 3;
	memset(&desc, 0, sizeof(desc));
	desc.xxfi_name = "null_milter";
	desc.xxfi_version = SMFI_VERSION;
	desc.xxfi_flags = 0;
	desc.xxfi_connect = null_connect;
	desc.xxfi_helo = null_helo;
	desc.xxfi_envfrom = null_args;
	desc.xxfi_envrcpt = null_args;
	desc.xxfi_header = null_header;
	desc.xxfi_eoh = null_ctx;
	desc.xxfi_body = null_body;
	desc.xxfi_eom = null_continue;
	desc.xxfi_abort = null_continue;
	desc.xxfi_close = null_continue;
	desc.xxfi_unknown = null_unknown;
	desc.xxfi_data = null_ctx;
	desc.xxfi_negotiate = null_negotiate;
	if (smfi_register(desc) == MI_FAILURE) {
		fprintf(stderr, "null_milter: smfi_register failed\n");
		return 1;
	}
	if (smfi_setconn(argv[1]) == MI_FAILURE ||
	    smfi_opensocket(true) == MI_FAILURE) {
		fprintf(stderr, "null_milter: cannot open %s\n", argv[1]);
		return 1;
	}
	return smfi_main() == MI_SUCCESS ? 0 : 1;
}
