/*
 * test_proc.c -- src/milter/proc.c, the daemon's look into /proc: the
 * descriptor a test picks (the listening socket, as milter.c looks for
 * it), never the one reading the directory; and a thread's sleep, as
 * milter_stop waits for it (a thread blocked on a lock sleeps, a running
 * one and an ended one do not).
 */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "proc.h"

struct seen {
	int want;      /* the descriptor to accept, or -1: any listener */
	int calls;     /* match calls */
	int forbidden; /* the descriptor match must not see */
	int saw_forbidden;
};

static bool
is_fd(int fd, void *ctx)
{
	struct seen *s = ctx;

	s->calls++;
	s->saw_forbidden += fd == s->forbidden;
	return fd == s->want;
}

static bool
is_listener(int fd, void *ctx)
{
	int on = 0;
	socklen_t len = sizeof(on);

	(void)ctx;
	return getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &on, &len) == 0 &&
	       on != 0;
}

static void
test_find_fd(void)
{
	struct seen s = {.want = -1};
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	int p[2], free_fd, lfd, r;

	CHECK_INT_EQ(pipe(p), 0);
	s.want = p[1];
	/* the lowest free descriptor is the one opendir will get */
	CHECK((free_fd = dup(0)) >= 0);
	close(free_fd);
	s.forbidden = free_fd;
	CHECK_INT_EQ(proc_find_fd(is_fd, &s), p[1]);
	CHECK(s.calls >= 4); /* 0, 1, 2 and the pipe at least */
	CHECK_INT_EQ(s.saw_forbidden, 0);
	s.want = 1000000;
	CHECK_INT_EQ(proc_find_fd(is_fd, &s), -ENOENT);

	/* a listening socket among them, as milter.c finds libmilter's */
	CHECK((lfd = socket(AF_UNIX, SOCK_STREAM, 0)) >= 0);
	CHECK_INT_EQ(proc_find_fd(is_listener, NULL), -ENOENT);
	/* an abstract address: nothing on the file system */
	snprintf(sun.sun_path + 1, sizeof(sun.sun_path) - 1,
	    "authmilter-test-proc-%ld", (long)getpid());
	CHECK_INT_EQ(bind(lfd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	CHECK_INT_EQ(listen(lfd, 1), 0);
	r = proc_find_fd(is_listener, NULL);
	CHECK_INT_EQ(r, lfd);
	close(lfd);
	close(p[0]);
	close(p[1]);
}

static pthread_mutex_t held = PTHREAD_MUTEX_INITIALIZER;
static _Atomic pid_t blocked_tid;

static void *
block(void *arg)
{
	(void)arg;
	blocked_tid = gettid();
	pthread_mutex_lock(&held); /* sleeps until main unlocks */
	pthread_mutex_unlock(&held);
	return NULL;
}

static void *
quit(void *arg)
{
	*(pid_t *)arg = gettid();
	return NULL;
}

static void
test_thread_sleeps(void)
{
	struct timespec ms = {0, 1000 * 1000};
	pthread_t t;
	pid_t tid = 0;
	bool slept = false;
	int i;

	/* this thread runs while it reads its own state */
	CHECK(!proc_thread_sleeps(gettid()));

	pthread_mutex_lock(&held);
	CHECK_INT_EQ(pthread_create(&t, NULL, block, NULL), 0);
	/* it sleeps on the lock within a moment (up to 5 s on a busy
	 * machine: no time is asserted, only that it is seen asleep) */
	for (i = 0; i < 5000 && !slept; i++) {
		if (blocked_tid > 0)
			slept = proc_thread_sleeps(blocked_tid);
		if (!slept)
			nanosleep(&ms, NULL);
	}
	CHECK(slept);
	pthread_mutex_unlock(&held);
	pthread_join(t, NULL);

	/* an ended thread is not asleep */
	CHECK_INT_EQ(pthread_create(&t, NULL, quit, &tid), 0);
	pthread_join(t, NULL);
	CHECK(tid > 0);
	CHECK(!proc_thread_sleeps(tid));
	CHECK(!proc_thread_sleeps(-1));
}

int
main(void)
{
	test_find_fd();
	test_thread_sleeps();
	return check_summary("proc");
}
