/*
 * daemon.h -- `authmilter run`: the process around the milter. Loads the
 * configuration, builds the shared resolver, takes the pid file (PidFile:
 * never through a symbolic link, locked for the life of the process, so
 * a second daemon stops before it touches the socket; a stale one is
 * taken over), opens the socket and gives a unix socket its owner, group
 * and mode (SocketUser, SocketGroup, SocketMode), warns loudly when the
 * MTA's group (MTAGroup) cannot reach it or when the daemon stays root,
 * drops privileges (UserID) after binding, applies UMask, counts and
 * times out connections (conns.h), logs to syslog (or stderr with -f or
 * when no syslog daemon listens), and handles signals: SIGHUP reloads the
 * configuration atomically (a bad new one, or one that runs out of
 * memory, is logged line by line and the old one keeps serving;
 * connections in flight keep the snapshot they took), SIGTERM and SIGINT
 * let the messages in flight finish, then stop (libmilter's worker pool
 * stops serving sessions with the listener, so the wait comes first).
 *
 * Signals: libmilter starts a thread of its own that sigwait()s for
 * SIGHUP, SIGTERM and SIGINT and stops the milter on any of them, which
 * would make SIGHUP a shutdown. Blocking them in that thread is not
 * enough: sigwait() opens them while it waits, and Linux gives a
 * process-directed signal to any thread that has it open when the main
 * thread already has one pending (kernel/signal.c, complete_signal(),
 * wants_signal()): a TERM right after a HUP went to libmilter. So the
 * daemon runs libmilter in a second thread, starts every thread of its
 * own with the three signals blocked (libmilter's threads inherit that),
 * and has libmilter's sigwait() never return (daemon.c,
 * __wrap_sigwait). Only the main thread has them open, with handlers
 * that block each other and write to a pipe the main thread reads, in
 * the order the signals came.
 *
 * Thread rules: the current snapshot is one pointer behind a mutex;
 * daemon_conf() hands out references.
 */
#ifndef AUTHMILTER_DAEMON_H
#define AUTHMILTER_DAEMON_H

#include <stdbool.h>

#include "session.h"

struct daemon;

/* daemon_conf -- a reference on the current snapshot (caller unrefs). */
struct session_conf *daemon_conf(struct daemon *d);

/* daemon_messages -- count a message starting (+1) or ending (-1), so a
 * shutdown can wait for the messages in flight. */
void daemon_messages(struct daemon *d, int delta);

/* daemon_run -- run the milter with the configuration file at path;
 * foreground: log to stderr instead of syslog (the process never forks
 * either way: systemd runs it in the foreground).
 * @return the exit status (0 after SIGTERM, 1 on a startup error). */
int daemon_run(const char *path, bool foreground);

#endif
