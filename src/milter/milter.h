/*
 * milter.h -- the libmilter glue: registration of the callbacks, the
 * listening socket, the protocol negotiation, and the translation of each
 * callback into one session.h call. The only file that includes
 * libmilter (DESIGN.md layers).
 *
 * Negotiation (per connection, in xxfi_negotiate): SMFIP_HDR_LEADSPC so
 * header values arrive byte-exact; no reply for every step before the
 * end of the message (SMFIP_NR_CONN, _HELO, _MAIL, _RCPT, _HDR, _EOH,
 * _BODY: every decision, SPFRejectFail included, is taken at the end of
 * data, where the whole verdict is known); SMFIP_NORCPT unless the spool
 * wants the first recipient domain; SMFIP_NOUNKNOWN and SMFIP_NODATA. Actions:
 * add/insert headers, change/delete headers, quarantine.
 *
 * Connections: every callback tells conns.h when it starts and ends, and
 * the connect step marks the connection as carrying an SMTP session;
 * libmilter's own timeout is BOUND_MILTER_SESSION_IDLE (conns.h says
 * why).
 *
 * Thread rules: libmilter calls back for one connection at a time, from
 * its worker threads; the per-connection state is reached through
 * smfi_getpriv() only. milter_setup() and milter_main() run once, from
 * the daemon.
 */
#ifndef AUTHMILTER_MILTER_H
#define AUTHMILTER_MILTER_H

#include <stdbool.h>

#include "authmilter/buf.h"
#include "authmilter/config.h"

struct daemon;

/* milter_setup -- register the callbacks for daemon d and open the
 * listening socket sock (a stale unix socket is removed). On inet
 * sockets TCP_NODELAY is set on the listening socket, which accepted
 * connections inherit on Linux (see milter.c).
 * @return 0; -errno with a line in errors. */
int milter_setup(
    struct daemon *d, const struct config_socket *sock, struct buf *errors);

/* milter_main -- serve until milter_stop(). @return 0 or -EIO. */
int milter_main(void);

/* milter_stop -- stop accepting connections (returns in about 50 ms);
 * connections in flight go on. Call from a normal thread, not a signal
 * handler. */
void milter_stop(void);

#endif
