/*
 * proc.h -- the daemon's only look into /proc (Linux), for what libmilter
 * does not tell: which of our descriptors is its listening socket (it
 * opens and accepts on it itself; milter.c needs it for TCP_NODELAY and
 * to end libmilter's poll at shutdown), and whether a thread of ours
 * sleeps (milter_stop waits until smfi_stop() sleeps on libmilter's lock
 * before it pokes the listener). Only /proc/self is read.
 *
 * Thread-safe: nothing is kept between calls; no allocation beyond
 * opendir's.
 */
#ifndef AUTHMILTER_PROC_H
#define AUTHMILTER_PROC_H

#include <stdbool.h>
#include <sys/types.h>

/* A test of one open descriptor of this process. */
typedef bool proc_fd_match(int fd, void *ctx);

/* proc_find_fd -- the highest open descriptor of this process (from
 * /proc/self/fd) that match accepts; match never sees the descriptor
 * that reads the directory.
 * @return the descriptor; -ENOENT when match accepts none; or the -errno
 * of opening /proc/self/fd (-ENOENT too when /proc is not mounted). */
int proc_find_fd(proc_fd_match *match, void *ctx);

/* proc_thread_sleeps -- whether thread tid of this process is in an
 * interruptible sleep (state S in /proc/self/task/TID/stat: waiting on a
 * lock, a condition, poll...). false when it runs, has ended, or /proc
 * cannot tell. */
bool proc_thread_sleeps(pid_t tid);

#endif
