/*
 * daemon.h -- `authmilter run`: the process around the milter. Loads the
 * configuration, builds the shared resolver, opens the socket and gives a
 * unix socket its owner, group and mode (SocketUser, SocketGroup,
 * SocketMode), warns loudly when the MTA's group (MTAGroup) cannot reach
 * it or when the daemon stays root, drops privileges (UserID) after
 * binding, applies UMask, writes PidFile, logs to syslog (or stderr with
 * -f or when no syslog daemon listens), and handles signals: SIGHUP
 * reloads the configuration atomically (a bad new one is logged line by
 * line and the old one keeps serving; connections in flight keep the
 * snapshot they took), SIGTERM and SIGINT let the messages in flight
 * finish, then stop (libmilter's worker pool stops serving sessions with
 * the listener, so the wait comes first).
 *
 * Signals: libmilter starts a thread of its own that sigwait()s for
 * SIGHUP, SIGTERM and SIGINT and stops the milter on any of them, which
 * would make SIGHUP a shutdown. The daemon therefore runs libmilter in a
 * second thread (which blocks the three signals, as do all threads it
 * starts) and keeps them unblocked, with handlers, in the main thread
 * only. Linux delivers a process-directed signal to the main thread
 * first whenever it does not block it (kernel/signal.c,
 * complete_signal()), so libmilter's thread never sees them.
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
