/*
 * conns.h -- the milter connections as file descriptors: how many may be
 * open (MaxConnections), how long a connection may take to do what an
 * MTA does at once (MilterTimeout), and what happens when descriptors run
 * out. libmilter has no hook for any of this: it accepts, reads and
 * closes on its own. authmilter links it statically and the linker
 * redirects five of its calls here (-Wl,--wrap=..., src/milter/
 * meson.build; --wrap changes only the calls of the objects linked into
 * the executable, not those of the shared libraries):
 *
 *   accept()  every connection is counted. With MaxConnections open, the
 *             oldest one that has begun no SMTP session and been quiet
 *             for BOUND_MILTER_EVICT_MS is closed to make room; if there
 *             is none, the new connection is closed at once (the MTA
 *             applies its milter_default_action) and libmilter is told
 *             ECONNABORTED, which it skips. When accept() fails for want
 *             of descriptors or memory (EMFILE, ENFILE, ENOBUFS, ENOMEM)
 *             it waits BOUND_MILTER_ACCEPT_BACKOFF_MS before libmilter
 *             tries again: libmilter retries at once, and the pending
 *             connection keeps its poll() ready, so without the wait its
 *             listener spins at 100% of a CPU for as long as the
 *             descriptors are gone (sendmail's libmilter/listener.c).
 *   close()   the connection is no longer counted.
 *   read()    the first read on a connection after a callback marks the
 *             start of a command; and each thread remembers the
 *             descriptor it read last, which in a callback is the
 *             callback's connection (libmilter reads the whole command,
 *             then calls back, in the same thread).
 *             It reads ahead: libmilter reads every command in two
 *             reads (its length, then the rest), each after a poll(),
 *             and polls once more before the next command, while an MTA
 *             writes many commands back to back (macros, each header
 *             field, the end of the header, under no-reply steps). One
 *             read of up to BOUND_MILTER_READAHEAD takes what is there;
 *             the bytes libmilter did not ask for yet are kept for the
 *             connection and handed out by its next reads.
 *   poll()    a connection with bytes read ahead is readable at once,
 *             without a system call when it is the only one polled
 *             (a worker waiting for its next command); the pool
 *             controller's poll of many sees it readable too. And
 *             libmilter's worker, after each command, waits up to 1 ms
 *             for the next one before it hands the connection back to
 *             its pool controller (which polls every quiet connection
 *             and gives a readable one to a free worker): that look
 *             does not wait here. What the MTA has written already is
 *             read ahead; what it has not is seldom 1 ms away (under
 *             no-reply steps it writes a message's commands back to
 *             back), and a wait that ends in a timer costs more than
 *             the hand-over: through Postfix it took half the CPU of a
 *             verified message (tests/bench/README.md).
 *   sigwait() libmilter's signal thread: see daemon.h.
 *
 * A thread of its own (conns_start) closes, with shutdown() (libmilter
 * then sees the end of the connection and cleans up as usual), every
 * connection that
 *   - has begun no SMTP session (no connect step) MilterTimeout after it
 *     was accepted or last answered: an MTA sends the connect step right
 *     after negotiating, for every SMTP session (Postfix opens one milter
 *     connection per session), so such a connection is not serving mail;
 *   - has begun a command that has not arrived whole after MilterTimeout:
 *     an MTA writes each command at once.
 * A connection that carries an SMTP session is never closed for being
 * quiet: its MTA is waiting for its SMTP client, for as long as that
 * client may take (with Postfix, smtpd_timeout per command and up to
 * smtpd_recipient_limit RCPT commands the milter does not see, days),
 * and a milter that closed it would make the MTA apply
 * milter_default_action to the rest of the session (with "accept", an
 * unfiltered message). libmilter's own timeout (smfi_settimeout, which
 * also closes idle sessions) is set to BOUND_MILTER_SESSION_IDLE for
 * that reason: it only bounds a peer that stopped reading.
 *
 * Thread rules: the accept(), close() and reaper paths share one mutex;
 * the per-connection state the callbacks and read() touch is atomic.
 */
#ifndef AUTHMILTER_CONNS_H
#define AUTHMILTER_CONNS_H

#include <stdbool.h>

#include "authmilter/buf.h"

/* conns_fd_ceiling -- the most connections the descriptor limit
 * (RLIMIT_NOFILE) allows: each may hold a second descriptor while its
 * message is evaluated (a DNS socket, a spool file), and
 * BOUND_MILTER_FD_RESERVE are kept for the rest of the process. */
unsigned conns_fd_ceiling(void);

/* conns_init -- start counting: max connections (0: the default,
 * min(BOUND_MILTER_CONNECTIONS, conns_fd_ceiling())), timeout_s
 * (MilterTimeout). A max above the ceiling is lowered to it with a
 * warning. Call once, before libmilter accepts.
 * @return 0, or -errno with a line in errors. */
int conns_init(unsigned max, unsigned timeout_s, struct buf *errors);

/* conns_set -- new limits (a reload), as conns_init. */
void conns_set(unsigned max, unsigned timeout_s);

/* conns_max -- the bound in force. */
unsigned conns_max(void);

/* conns_start -- start the thread that closes stalled connections (call
 * with HUP, TERM and INT blocked: it inherits the mask).
 * conns_stop -- end it. @return 0 or -errno. */
int conns_start(void);
void conns_stop(void);

/* In a libmilter callback: the callback's connection (the descriptor this
 * thread read last), or -1. */
int conns_fd(void);

/* A callback on connection fd starts (conns_busy) and ends (conns_idle):
 * it is not closed while it runs, and from its end it is quiet again.
 * session: the connection has begun an SMTP session (the connect step
 * was seen); it stays marked for the rest of the connection. Unknown
 * descriptors are ignored. */
void conns_busy(int fd);
void conns_idle(int fd, bool session);

#endif
