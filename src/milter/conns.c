/*
 * conns.c -- counting, bounding and timing out the milter connections,
 * and backing off when accept() runs out of descriptors. See conns.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "authmilter/bounds.h"
#include "authmilter/log.h"
#include "conns.h"

/* The calls libmilter makes that the linker sends here (-Wl,--wrap). */
int __real_accept(int fd, struct sockaddr *addr, socklen_t *len);
int __real_close(int fd);
ssize_t __real_read(int fd, void *buf, size_t n);
int __real_poll(struct pollfd *fds, nfds_t n, int timeout);
int __wrap_accept(int fd, struct sockaddr *addr, socklen_t *len);
int __wrap_close(int fd);
ssize_t __wrap_read(int fd, void *buf, size_t n);
int __wrap_poll(struct pollfd *fds, nfds_t n, int timeout);

/* State of one descriptor. */
#define CONNS_USED 0x01u    /* an accepted milter connection */
#define CONNS_SESSION 0x02u /* has begun an SMTP session */
#define CONNS_READING 0x04u /* a command has begun to arrive */
#define CONNS_BUSY 0x08u    /* a callback runs */
#define CONNS_SHUT 0x10u    /* shut down here; libmilter will close it */

struct conns_slot {
	atomic_uint state;
	atomic_llong since; /* ms: accepted, quiet again, or command begun */
	/* Bytes read ahead and not yet handed to libmilter (conns.h): a
	 * malloc'ed copy, touched only by the thread that serves the
	 * connection (libmilter hands a connection to one thread at a
	 * time) and freed when drained or closed; its count is atomic for
	 * the pool controller's poll(). */
	char *ahead;
	unsigned ahead_off;
	atomic_uint ahead_len; /* bytes waiting at ahead + ahead_off */
};

/* What happened, counted here and logged by the reaper at most every
 * CONNS_REPORT_MS (the first time at once), with the count since. */
enum conns_event {
	CONNS_REFUSED,
	CONNS_EVICTED,
	CONNS_IDLE,
	CONNS_STALLED,
	CONNS_NO_FDS,
	CONNS_EVENTS
};
#define CONNS_REPORT_MS 10000

/* A poll() of one milter connection for less than this (ms) is
 * libmilter's look for a next command before its worker hands the
 * connection back to the pool (1 ms); its reads of a command wait
 * smfi_settimeout() seconds. */
#define CONNS_PROBE_MS 1000

/* Descriptors are small numbers: one slot per possible descriptor, below
 * the RLIMIT_NOFILE of the start (at most CONNS_SLOTS_MAX). */
#define CONNS_SLOTS_MAX (1 << 20)
static struct conns_slot *conns_slot;
static int conns_nslot;

/* Under conns_lock: the counts, and the highest slot used + 1. */
static pthread_mutex_t conns_lock = PTHREAD_MUTEX_INITIALIZER;
static unsigned conns_used, conns_shut;
static int conns_top;

static atomic_uint conns_limit;   /* MaxConnections in force */
static atomic_uint conns_timeout; /* MilterTimeout, seconds */
static atomic_ulong conns_events[CONNS_EVENTS];
static atomic_int conns_no_fds_errno;

static _Thread_local int conns_last_fd = -1;
/* Each thread's read goes here first; only what libmilter did not ask
 * for yet is copied to the connection's slot. */
static _Thread_local char conns_scratch[BOUND_MILTER_READAHEAD];

static pthread_t conns_thread;
static int conns_stop_pipe[2] = {-1, -1};

static long long
conns_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The slot of a connection being counted, or NULL. */
static struct conns_slot *
conns_of(int fd)
{
	if (conns_slot == NULL || fd < 0 || fd >= conns_nslot ||
	    !(atomic_load(&conns_slot[fd].state) & CONNS_USED))
		return NULL;
	return &conns_slot[fd];
}

/* ---- limits ---- */

static rlim_t
conns_nofile(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur == RLIM_INFINITY)
		return CONNS_SLOTS_MAX;
	return rl.rlim_cur < CONNS_SLOTS_MAX ? rl.rlim_cur : CONNS_SLOTS_MAX;
}

unsigned
conns_fd_ceiling(void)
{
	rlim_t n = conns_nofile();

	if (n <= BOUND_MILTER_FD_RESERVE + 2)
		return 1;
	return (unsigned)((n - BOUND_MILTER_FD_RESERVE) / 2);
}

/* The bound for a configured max (0: the default). */
static unsigned
conns_bound(unsigned max, bool warn)
{
	unsigned ceiling = conns_fd_ceiling();

	if (max == 0)
		return ceiling < BOUND_MILTER_CONNECTIONS
		           ? ceiling
		           : BOUND_MILTER_CONNECTIONS;
	if (max > ceiling) {
		if (warn)
			log_warning("MaxConnections %u: the descriptor limit "
			            "(%lu, LimitNOFILE) allows %u: using %u",
			    max, (unsigned long)conns_nofile(), ceiling,
			    ceiling);
		return ceiling;
	}
	return max;
}

int
conns_init(unsigned max, unsigned timeout_s, struct buf *errors)
{
	rlim_t n = conns_nofile();

	conns_slot = calloc((size_t)n, sizeof(*conns_slot));
	if (conns_slot == NULL) {
		buf_addf(errors, "connections: out of memory\n");
		return -ENOMEM;
	}
	conns_nslot = (int)n;
	conns_set(max, timeout_s);
	return 0;
}

void
conns_set(unsigned max, unsigned timeout_s)
{
	atomic_store(&conns_limit, conns_bound(max, true));
	atomic_store(&conns_timeout, timeout_s > 0 ? timeout_s : 1);
}

unsigned
conns_max(void)
{
	return atomic_load(&conns_limit);
}

/* ---- closing ---- */

/* Shut fd down (under conns_lock): libmilter sees the end of the
 * connection, runs the close callback and closes it. */
static void
conns_shut_down(int fd)
{
	shutdown(fd, SHUT_RDWR);
	atomic_fetch_or(&conns_slot[fd].state, CONNS_SHUT);
	conns_shut++;
}

/* With the bound reached: close the connection that has begun no SMTP
 * session and been quiet longest, if for BOUND_MILTER_EVICT_MS at least
 * (under conns_lock). @return whether one was closed. */
static bool
conns_evict(long long now)
{
	long long oldest = now - BOUND_MILTER_EVICT_MS + 1, since;
	int fd, victim = -1;
	unsigned st;

	for (fd = 0; fd < conns_top; fd++) {
		st = atomic_load(&conns_slot[fd].state);
		if ((st & (CONNS_USED | CONNS_SESSION | CONNS_BUSY |
		              CONNS_SHUT)) != CONNS_USED)
			continue;
		since = atomic_load(&conns_slot[fd].since);
		if (since < oldest) {
			oldest = since;
			victim = fd;
		}
	}
	if (victim < 0)
		return false;
	conns_shut_down(victim);
	atomic_fetch_add(&conns_events[CONNS_EVICTED], 1);
	return true;
}

/* Close what MilterTimeout allows no longer (under conns_lock). */
static void
conns_reap(long long now)
{
	long long limit = (long long)atomic_load(&conns_timeout) * 1000;
	unsigned st;
	int fd;

	for (fd = 0; fd < conns_top; fd++) {
		st = atomic_load(&conns_slot[fd].state);
		if ((st & (CONNS_USED | CONNS_BUSY | CONNS_SHUT)) != CONNS_USED)
			continue;
		/* a quiet SMTP session is its MTA's to end (conns.h) */
		if ((st & (CONNS_SESSION | CONNS_READING)) == CONNS_SESSION)
			continue;
		if (now - atomic_load(&conns_slot[fd].since) < limit)
			continue;
		conns_shut_down(fd);
		atomic_fetch_add(
		    &conns_events[(st & CONNS_READING) ? CONNS_STALLED
		                                       : CONNS_IDLE],
		    1);
	}
}

/* Log what happened since the last line of each kind. */
static void
conns_report(long long now)
{
	static long long last[CONNS_EVENTS];
	unsigned long n;
	int e;

	for (e = 0; e < CONNS_EVENTS; e++) {
		if (last[e] != 0 && now - last[e] < CONNS_REPORT_MS)
			continue;
		if ((n = atomic_exchange(&conns_events[e], 0)) == 0)
			continue;
		last[e] = now;
		switch (e) {
		case CONNS_REFUSED:
			log_warning("MaxConnections %u reached: %lu new "
			            "connections refused (the MTA applies its "
			            "milter_default_action)",
			    conns_max(), n);
			break;
		case CONNS_EVICTED:
			log_warning(
			    "MaxConnections %u reached: %lu connections "
			    "that had begun no SMTP session closed to "
			    "make room",
			    conns_max(), n);
			break;
		case CONNS_IDLE:
			log_warning("MilterTimeout (%u s): %lu connections "
			            "closed that began no SMTP session",
			    atomic_load(&conns_timeout), n);
			break;
		case CONNS_STALLED:
			log_warning("MilterTimeout (%u s): %lu connections "
			            "closed whose command did not arrive whole",
			    atomic_load(&conns_timeout), n);
			break;
		case CONNS_NO_FDS:
			log_err("accept: %s (%lu times, each followed by a "
			        "%d ms wait): raise LimitNOFILE or lower "
			        "MaxConnections",
			    strerror(atomic_load(&conns_no_fds_errno)), n,
			    BOUND_MILTER_ACCEPT_BACKOFF_MS);
			break;
		}
	}
}

static void *
conns_main(void *arg)
{
	struct pollfd p = {.fd = conns_stop_pipe[0], .events = POLLIN};
	long long now;

	for (;;) {
		if (poll(&p, 1, 1000) > 0)
			break;
		now = conns_now();
		pthread_mutex_lock(&conns_lock);
		conns_reap(now);
		pthread_mutex_unlock(&conns_lock);
		conns_report(now);
	}
	conns_report(conns_now());
	return arg;
}

int
conns_start(void)
{
	int r;

	if (pipe2(conns_stop_pipe, O_CLOEXEC) < 0)
		return -errno;
	r = pthread_create(&conns_thread, NULL, conns_main, NULL);
	if (r != 0) {
		__real_close(conns_stop_pipe[0]);
		__real_close(conns_stop_pipe[1]);
		conns_stop_pipe[0] = conns_stop_pipe[1] = -1;
		return -r;
	}
	return 0;
}

void
conns_stop(void)
{
	char c = 0;

	if (conns_stop_pipe[1] < 0)
		return;
	if (write(conns_stop_pipe[1], &c, 1) == 1)
		pthread_join(conns_thread, NULL);
}

/* ---- the callbacks' side ---- */

int
conns_fd(void)
{
	return conns_last_fd;
}

void
conns_busy(int fd)
{
	struct conns_slot *s = conns_of(fd);

	if (s == NULL)
		return;
	atomic_fetch_or(&s->state, CONNS_BUSY);
	atomic_fetch_and(&s->state, ~CONNS_READING);
}

void
conns_idle(int fd, bool session)
{
	struct conns_slot *s = conns_of(fd);

	if (s == NULL)
		return;
	atomic_store(&s->since, conns_now());
	if (session)
		atomic_fetch_or(&s->state, CONNS_SESSION);
	atomic_fetch_and(&s->state, ~(CONNS_BUSY | CONNS_READING));
}

/* ---- libmilter's calls ---- */

int
__wrap_accept(int fd, struct sockaddr *addr, socklen_t *len)
{
	struct timespec wait = {0, BOUND_MILTER_ACCEPT_BACKOFF_MS * 1000000L};
	long long now;
	int c, e;

	c = __real_accept(fd, addr, len);
	if (c < 0) {
		e = errno;
		if (e == EMFILE || e == ENFILE || e == ENOBUFS || e == ENOMEM) {
			atomic_store(&conns_no_fds_errno, e);
			atomic_fetch_add(&conns_events[CONNS_NO_FDS], 1);
			nanosleep(&wait, NULL);
		}
		errno = e;
		return c;
	}
	if (conns_slot == NULL || c >= conns_nslot)
		return c;
	now = conns_now();
	pthread_mutex_lock(&conns_lock);
	if (conns_used - conns_shut >= atomic_load(&conns_limit) &&
	    !conns_evict(now)) {
		pthread_mutex_unlock(&conns_lock);
		__real_close(c);
		atomic_fetch_add(&conns_events[CONNS_REFUSED], 1);
		errno = ECONNABORTED; /* libmilter goes on to the next */
		return -1;
	}
	atomic_store(&conns_slot[c].since, now);
	atomic_store(&conns_slot[c].state, CONNS_USED);
	conns_used++;
	if (c >= conns_top)
		conns_top = c + 1;
	pthread_mutex_unlock(&conns_lock);
	return c;
}

int
__wrap_close(int fd)
{
	unsigned st;
	int r, e;

	if (conns_of(fd) == NULL)
		return __real_close(fd);
	/* under the lock: the reaper never shuts down a descriptor that is
	 * being closed (and could be reused) */
	pthread_mutex_lock(&conns_lock);
	st = atomic_exchange(&conns_slot[fd].state, 0);
	if (st & CONNS_USED)
		conns_used--;
	free(conns_slot[fd].ahead);
	conns_slot[fd].ahead = NULL;
	atomic_store(&conns_slot[fd].ahead_len, 0);
	if (st & CONNS_SHUT)
		conns_shut--;
	r = __real_close(fd);
	e = errno;
	pthread_mutex_unlock(&conns_lock);
	errno = e;
	return r;
}

/* Hand up to n bytes read ahead on s to buf. @return the count. */
static size_t
conns_ahead_take(struct conns_slot *s, void *buf, size_t n)
{
	size_t have = atomic_load_explicit(&s->ahead_len, memory_order_relaxed);

	if (n > have)
		n = have;
	memcpy(buf, s->ahead + s->ahead_off, n);
	s->ahead_off += (unsigned)n;
	atomic_store_explicit(
	    &s->ahead_len, (unsigned)(have - n), memory_order_relaxed);
	if (have == n) {
		free(s->ahead);
		s->ahead = NULL;
		s->ahead_off = 0;
	}
	return n;
}

/* A read of n bytes on a connection with nothing read ahead: one read of
 * up to BOUND_MILTER_READAHEAD, the rest kept for the next calls. */
static ssize_t
conns_read_ahead(struct conns_slot *s, int fd, void *buf, size_t n)
{
	ssize_t r;
	size_t rest;

	if (n >= sizeof(conns_scratch))
		return __real_read(fd, buf, n);
	r = __real_read(fd, conns_scratch, sizeof(conns_scratch));
	if (r <= 0 || (size_t)r <= n) {
		if (r > 0)
			memcpy(buf, conns_scratch, (size_t)r);
		return r;
	}
	rest = (size_t)r - n;
	s->ahead = malloc(rest);
	if (s->ahead == NULL) {
		/* no room to keep them: these bytes are gone from the
		 * socket, so the connection cannot go on */
		log_err("out of memory for %zu bytes read ahead on a milter "
		        "connection: closing it",
		    rest);
		errno = ENOMEM;
		return -1;
	}
	memcpy(buf, conns_scratch, n);
	memcpy(s->ahead, conns_scratch + n, rest);
	s->ahead_off = 0;
	atomic_store_explicit(
	    &s->ahead_len, (unsigned)rest, memory_order_relaxed);
	return (ssize_t)n;
}

ssize_t
__wrap_read(int fd, void *buf, size_t n)
{
	struct conns_slot *s = conns_of(fd);
	unsigned st;

	if (s == NULL)
		return __real_read(fd, buf, n);
	conns_last_fd = fd;
	st = atomic_load(&s->state);
	if (!(st & (CONNS_READING | CONNS_BUSY))) {
		atomic_store(&s->since, conns_now());
		atomic_fetch_or(&s->state, CONNS_READING);
	}
	if (n == 0)
		return 0;
	if (atomic_load_explicit(&s->ahead_len, memory_order_relaxed) > 0)
		return (ssize_t)conns_ahead_take(s, buf, n);
	return conns_read_ahead(s, fd, buf, n);
}

/* Whether p waits to read a connection with bytes read ahead. */
static bool
conns_poll_ahead(const struct pollfd *p)
{
	struct conns_slot *s;

	if (!(p->events & (POLLIN | POLLRDNORM)))
		return false;
	s = conns_of(p->fd);
	return s != NULL &&
	       atomic_load_explicit(&s->ahead_len, memory_order_relaxed) > 0;
}

int
__wrap_poll(struct pollfd *fds, nfds_t n, int timeout)
{
	nfds_t i, ahead = 0;
	int r;

	for (i = 0; i < n; i++)
		if (conns_poll_ahead(&fds[i]))
			ahead++;
	if (ahead == 0) {
		/* a worker's look for a next command (conns.h): no wait */
		if (n == 1 && timeout > 0 && timeout < CONNS_PROBE_MS &&
		    conns_of(fds[0].fd) != NULL)
			timeout = 0;
		return __real_poll(fds, n, timeout);
	}
	/* readable now: the rest only if they are ready too, no wait */
	r = n > ahead ? __real_poll(fds, n, 0) : -1;
	if (r < 0) {
		/* none of the others counted (EINTR: they are polled again
		 * next time) */
		for (i = 0; i < n; i++)
			fds[i].revents = 0;
		r = 0;
	}
	for (i = 0; i < n; i++) {
		if (!conns_poll_ahead(&fds[i]))
			continue;
		if (fds[i].revents == 0)
			r++;
		fds[i].revents |= fds[i].events & (POLLIN | POLLRDNORM);
	}
	return r;
}
