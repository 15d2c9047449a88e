/*
 * daemon.c -- the milter process: configuration, resolver, socket (its
 * owner, group and mode, and whether the MTA can reach it), privileges,
 * pid file, signals, reload. See daemon.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "authmilter/config_rotate.h"
#include "authmilter/dkim_key_cache.h"
#include "authmilter/log.h"
#include "authmilter/xalloc.h"
#include "conns.h"
#include "daemon.h"
#include "metrics_http.h"
#include "milter.h"
#include "observe.h"

/* How long a shutdown waits for the messages in flight. */
#define DAEMON_DRAIN_SECONDS 60
/* Error lines of one configuration load. */
#define DAEMON_ERRORS_MAX 65536

struct daemon {
	const char *path;          /* the configuration file */
	pthread_mutex_t lock;      /* guards conf */
	struct session_conf *conf; /* current snapshot, one reference */
	atomic_int messages;       /* in flight */
	pthread_t milter_thread;
	int milter_result;
	int pid_fd;                /* PidFile, locked; -1 */
	bool syslog;               /* the log goes to syslog, not stderr */
	struct observe *obs;       /* metrics, when MetricsListen was set
	                            * at the start; else NULL */
	struct metrics_http *http; /* the listener, or NULL */
};

/* The self-pipe the signal handlers write to: the only state they
 * touch. */
static int daemon_sigpipe[2] = {-1, -1};

struct session_conf *
daemon_conf(struct daemon *d)
{
	struct session_conf *c;

	pthread_mutex_lock(&d->lock);
	c = session_conf_ref(d->conf);
	pthread_mutex_unlock(&d->lock);
	return c;
}

void
daemon_messages(struct daemon *d, int delta)
{
	atomic_fetch_add(&d->messages, delta);
}

/* ---- logging ---- */

static void
daemon_syslog(enum log_level level, const char *line)
{
	static const int prio[] = {
	    LOG_ERR, LOG_WARNING, LOG_NOTICE, LOG_INFO, LOG_DEBUG};

	syslog(prio[level], "%s", line);
}

/* A warning an admin must not miss: logged, and also written to
 * standard error when the log goes to syslog (whoever starts the daemon
 * by hand sees it there), unless standard error is systemd's journal
 * (JOURNAL_STREAM, systemd.exec(5)), which has the syslog line already. */
static void daemon_warn(const struct daemon *d, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
daemon_warn(const struct daemon *d, const char *fmt, ...)
{
	char line[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	log_warning("%s", line);
	if (d->syslog && getenv("JOURNAL_STREAM") == NULL)
		fprintf(stderr, "authmilter: warning: %s\n", line);
}

/* "file:line" of option in cfg's file, or just "file" when the option
 * was not given, into buf. @return buf */
static const char *
daemon_at(const struct config *cfg, const char *option, char *buf, size_t n)
{
	unsigned line = config_option_line(cfg, option);

	if (line > 0)
		snprintf(buf, n, "%s:%u", cfg->path, line);
	else
		snprintf(buf, n, "%s", cfg->path);
	return buf;
}

/* Log every line of an error buffer. */
static void
daemon_log_lines(enum log_level level, const struct buf *b)
{
	const char *p = buf_cstr(b), *nl;

	for (; *p != '\0'; p = nl + 1) {
		nl = strchr(p, '\n');
		if (nl == NULL) {
			log_msg(level, "%s", p);
			break;
		}
		log_msg(level, "%.*s", (int)(nl - p), p);
	}
}

/* ---- configuration ---- */

/* One configuration load, in steps that xalloc_try() can end. */
struct daemon_loading {
	struct daemon *d;
	const char *path;
	const struct config *prev; /* the snapshot in use, or NULL */
	struct config *cfg;
	struct session_dns *dns;
	struct session_conf *conf;
	struct buf *errors;
};

static int
daemon_load_config(void *arg)
{
	struct daemon_loading *l = arg;

	return config_reload(l->path, l->prev, &l->cfg, l->errors);
}

static int
daemon_load_dns(void *arg)
{
	struct daemon_loading *l = arg;

	return session_dns_new(
	    l->cfg, observe_dns(l->d->obs), &l->dns, l->errors);
}

static int
daemon_load_conf(void *arg)
{
	struct daemon_loading *l = arg;

	return session_conf_new(l->cfg, l->dns, &l->conf, l->errors);
}

/* The metrics learn the snapshot's domains, keys and spool. */
static int
daemon_load_observe(void *arg)
{
	struct daemon_loading *l = arg;

	l->conf->obs = l->d->obs;
	observe_config(l->d->obs, l->conf->cfg);
	return 0;
}

/*
 * Load path into a snapshot; old: the snapshot in use (NULL at the
 * start), whose resolver is kept if the options match (else a new one is
 * built) and whose private keys are taken over where their files have
 * not changed (config_reload). Problems go to errors. The loaders are
 * startup code (x* allocators, which end the process when memory runs
 * out); at a reload mail is flowing, so each step runs under xalloc_try()
 * and out of memory fails the load like any other error: the old
 * snapshot stays. A step cut short that way leaks what it had allocated
 * (it is left mid-way), and the references it took on keys of the old
 * snapshot (those keys then outlive it); the steps hold no lock or
 * descriptor across an x* call (table_slurp reads files with checked
 * allocations). The metrics come to life with the first configuration
 * that asks for them (MetricsListen), before the resolver that counts
 * into them.
 */
static int
daemon_load(struct daemon *d, const char *path, struct session_conf *old,
    struct session_conf **ret, struct buf *errors)
{
	struct daemon_loading l = {.d = d,
	    .path = path,
	    .prev = old != NULL ? old->cfg : NULL,
	    .errors = errors};
	struct session_dns *dns = old != NULL ? old->dns : NULL;
	int r;

	r = xalloc_try(daemon_load_config, &l);
	if (r < 0)
		return r;
	if (dns == NULL && d->obs == NULL && l.cfg->metrics_listen != NULL)
		d->obs = observe_new();
	if (dns != NULL && session_dns_matches(dns, l.cfg)) {
		l.dns = session_dns_ref(dns);
	} else if ((r = xalloc_try(daemon_load_dns, &l)) < 0) {
		config_unref(l.cfg);
		return r;
	}
	/* takes the config's reference whatever the outcome */
	r = xalloc_try(daemon_load_conf, &l);
	session_dns_unref(l.dns);
	if (r == 0 && (r = xalloc_try(daemon_load_observe, &l)) < 0)
		session_conf_unref(l.conf);
	if (r < 0)
		return r;
	*ret = l.conf;
	return 0;
}

/* Two optional strings are equal (both NULL or the same text). */
static bool
daemon_same(const char *a, const char *b)
{
	return a == NULL ? b == NULL : b != NULL && strcmp(a, b) == 0;
}

/* Tell key rotation which state the daemon serves now (see
 * config_rotate.h): rotation counts the overlap from here. */
static void
daemon_rotate_ack(const struct config *cfg)
{
	int r = config_rotate_ack(cfg);

	if (r < 0)
		log_warning("%s/%s: cannot acknowledge rotation generation "
		            "%llu: %s",
		    cfg->rotate.state_dir, CONFIG_ROTATE_ACK,
		    cfg->rotate.generation, strerror(-r));
}

static void
daemon_reload(struct daemon *d)
{
	struct session_conf *conf, *old;
	struct dkim_key_cache_stats ks;
	struct buf errors;
	int r;

	buf_init(&errors, DAEMON_ERRORS_MAX);
	old = daemon_conf(d);
	r = daemon_load(d, d->path, old, &conf, &errors);
	observe_reload(d->obs, r == 0);
	if (r < 0) {
		daemon_log_lines(LOG_LVL_ERR, &errors);
		log_err("reload of %s failed (%s): the previous configuration "
		        "stays in use",
		    d->path, strerror(-r));
	} else {
		if (conf->cfg->log_level != old->cfg->log_level ||
		    conf->cfg->syslog != old->cfg->syslog)
			log_notice("LogLevel and Syslog changes take effect "
			           "at the next start");
		if (!daemon_same(
		        conf->cfg->metrics_listen, old->cfg->metrics_listen))
			log_notice("MetricsListen changes take effect at the "
			           "next start");
		conns_set(
		    conf->cfg->max_connections, conf->cfg->milter_timeout);
		pthread_mutex_lock(&d->lock);
		session_conf_unref(d->conf);
		d->conf = conf;
		pthread_mutex_unlock(&d->lock);
		daemon_rotate_ack(conf->cfg);
		dkim_key_cache_stats(old->dns->keys, &ks);
		log_notice("reloaded %s: %zu keys, mode %s%s, private keys: "
		           "%zu kept, %zu loaded, resolver %s "
		           "(parsed DKIM keys so far: %zu held, %lu hits, "
		           "%lu parsed)",
		    d->path, conf->cfg->n_keys,
		    (conf->cfg->mode & CONFIG_MODE_SIGN) ? "s" : "",
		    (conf->cfg->mode & CONFIG_MODE_VERIFY) ? "v" : "",
		    conf->cfg->keys_kept, conf->cfg->keys_loaded,
		    conf->dns == old->dns ? "kept" : "rebuilt", ks.entries,
		    ks.hits, ks.misses);
	}
	session_conf_unref(old);
	buf_free(&errors);
}

/* ---- process setup ---- */

/* The PID a pid file names, or 0. */
static long
daemon_pidfile_read(int fd)
{
	char line[32];
	ssize_t n;
	char *end;
	long pid;

	n = pread(fd, line, sizeof(line) - 1, 0);
	if (n <= 0)
		return 0;
	line[n] = '\0';
	pid = strtol(line, &end, 10);
	return end != line && (*end == '\n' || *end == '\0') && pid > 0 ? pid
	                                                                : 0;
}

/*
 * PidFile: opened without following a symbolic link (O_NOFOLLOW: in a
 * directory the daemon's user can write, a link could make root write
 * through it), refused unless a regular file (O_NONBLOCK: a FIFO does not
 * hold the start), and locked (flock) for the life of the process: a
 * second daemon with the same file finds it locked, says which PID has
 * it, and stops before it touches the socket. A file nobody holds is
 * stale (a crash, a kill -9): it is taken over and the log says so.
 * @return 0 and *ret_fd (kept open: it holds the lock); -errno with a
 * line in errors.
 */
static int
daemon_pidfile(const struct config *cfg, int *ret_fd, struct buf *errors)
{
	const char *path = cfg->pid_file;
	char line[32], at[PATH_MAX + 16];
	struct stat st;
	int fd, n, r;
	long old;

	daemon_at(cfg, "PidFile", at, sizeof(at));
	fd = open(
	    path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK, 0644);
	if (fd < 0) {
		r = -errno;
		buf_addf(errors, "%s: PidFile %s: %s\n", at, path,
		    r == -ELOOP ? "a symbolic link: not followed"
		                : strerror(-r));
		return r;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		buf_addf(
		    errors, "%s: PidFile %s: not a regular file\n", at, path);
		close(fd);
		return -EINVAL;
	}
	old = daemon_pidfile_read(fd);
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		r = -errno;
		if (r == -EWOULDBLOCK)
			buf_addf(errors,
			    "%s: PidFile %s: authmilter is already running "
			    "(PID %ld)\n",
			    at, path, daemon_pidfile_read(fd));
		else
			buf_addf(errors, "%s: PidFile %s: lock: %s\n", at, path,
			    strerror(-r));
		close(fd);
		return r;
	}
	if (old > 0 && old != (long)getpid())
		log_notice("PidFile %s: PID %ld is gone without removing it: "
		           "taken over",
		    path, old);
	n = snprintf(line, sizeof(line), "%ld\n", (long)getpid());
	if (ftruncate(fd, 0) < 0 || pwrite(fd, line, (size_t)n, 0) != n) {
		r = errno != 0 ? -errno : -EIO;
		buf_addf(
		    errors, "%s: PidFile %s: %s\n", at, path, strerror(-r));
		close(fd);
		return r;
	}
	*ret_fd = fd;
	return 0;
}

/* ---- the unix socket: owner, group, mode, reachability ---- */

/* A user or group as config_load took it: a name or a number.
 * @return 0 and *ret, or -ENOENT. */
static int
daemon_uid(const char *name, uid_t *ret)
{
	const struct passwd *pw;

	if (name[strspn(name, "0123456789")] == '\0') {
		*ret = (uid_t)strtoul(name, NULL, 10);
		return 0;
	}
	if ((pw = getpwnam(name)) == NULL)
		return -ENOENT;
	*ret = pw->pw_uid;
	return 0;
}

static int
daemon_gid(const char *name, gid_t *ret)
{
	const struct group *gr;

	if (name[strspn(name, "0123456789")] == '\0') {
		*ret = (gid_t)strtoul(name, NULL, 10);
		return 0;
	}
	if ((gr = getgrnam(name)) == NULL)
		return -ENOENT;
	*ret = gr->gr_gid;
	return 0;
}

/* MTAGroup, else "postfix" when the system has that group, else NULL
 * (nothing to check against). */
static const char *
daemon_mta_group(const struct config *cfg)
{
	if (cfg->mta_group != NULL)
		return cfg->mta_group;
	return getgrnam("postfix") != NULL ? "postfix" : NULL;
}

/* SocketUser (default: the UserID user), SocketGroup (default: the MTA
 * group) and SocketMode on the socket just bound, before privileges go.
 * What cannot be done is warned about; the reachability check follows. */
static void
daemon_socket_own(const struct daemon *d, const struct config *cfg)
{
	const char *user = cfg->socket_user ? cfg->socket_user : cfg->user;
	const char *group =
	    cfg->socket_group ? cfg->socket_group : daemon_mta_group(cfg);
	const char *path = cfg->socket.path;
	char at[PATH_MAX + 16];
	uid_t uid = (uid_t)-1;
	gid_t gid = (gid_t)-1;
	struct stat st;

	daemon_at(cfg, "Socket", at, sizeof(at));
	if (stat(path, &st) != 0) {
		daemon_warn(d, "%s: Socket %s: %s", at, path, strerror(errno));
		return;
	}
	if (user != NULL && daemon_uid(user, &uid) == 0 && uid == st.st_uid)
		uid = (uid_t)-1;
	if (group != NULL && daemon_gid(group, &gid) == 0 && gid == st.st_gid)
		gid = (gid_t)-1;
	if ((uid != (uid_t)-1 || gid != (gid_t)-1) && chown(path, uid, gid) < 0)
		daemon_warn(d, "%s: Socket %s: cannot give it to %s%s%s: %s",
		    at, path, uid != (uid_t)-1 ? user : "",
		    gid != (gid_t)-1 ? ":" : "", gid != (gid_t)-1 ? group : "",
		    strerror(errno));
	if ((st.st_mode & 07777) != (mode_t)cfg->socket_mode &&
	    chmod(path, (mode_t)cfg->socket_mode) < 0)
		daemon_warn(d, "%s: Socket %s: cannot set mode %04o: %s", at,
		    path, (unsigned)cfg->socket_mode, strerror(errno));
}

/* Whether a process of user uid ((uid_t)-1: none in particular) with
 * only the group gid has permission bit (S_IXOTH: search, S_IWOTH:
 * write) on st, as the kernel decides it without ACLs. */
static bool
daemon_may(const struct stat *st, uid_t uid, gid_t gid, mode_t bit)
{
	if (uid == 0)
		return true;
	if (uid != (uid_t)-1 && st->st_uid == uid)
		return (st->st_mode & (bit << 6)) != 0;
	if (st->st_gid == gid)
		return (st->st_mode & (bit << 3)) != 0;
	return (st->st_mode & bit) != 0;
}

/* The first of path's directories (from "/" down) that uid/gid cannot
 * search, or path itself when it cannot write it, into ret (size n).
 * @return false when it can connect. */
static bool
daemon_blocked(const char *path, uid_t uid, gid_t gid, char *ret, size_t n,
    struct stat *st)
{
	char part[PATH_MAX];
	const char *p;
	size_t len;

	for (p = path; (p = strchr(p, '/')) != NULL; p++) {
		len = p == path ? 1 : (size_t)(p - path);
		if (len >= sizeof(part))
			break;
		memcpy(part, path, len);
		part[len] = '\0';
		if (stat(part, st) == 0 && !daemon_may(st, uid, gid, S_IXOTH)) {
			snprintf(ret, n, "%s", part);
			return true;
		}
	}
	if (stat(path, st) == 0 && !daemon_may(st, uid, gid, S_IWOTH)) {
		snprintf(ret, n, "%s", path);
		return true;
	}
	return false;
}

/* Warn loudly when the MTA's group cannot connect to the unix socket:
 * the MTA then passes mail on unsigned and unchecked (Postfix's
 * milter_default_action), with a warning in its own log only. The MTA's
 * user is the user of the group's name, if that is its primary group
 * (Postfix: user and group postfix; Postfix drops every supplementary
 * group). */
static void
daemon_socket_check(const struct daemon *d, const struct config *cfg)
{
	const char *group = daemon_mta_group(cfg);
	const struct passwd *pw;
	const struct group *gr;
	char at[PATH_MAX + 16], where[PATH_MAX], owner[64], grp[64];
	uid_t uid = (uid_t)-1;
	struct stat st;
	gid_t gid;

	if (cfg->socket.type != CONFIG_SOCKET_LOCAL || group == NULL ||
	    daemon_gid(group, &gid) < 0)
		return;
	if ((pw = getpwnam(group)) != NULL && pw->pw_gid == gid)
		uid = pw->pw_uid;
	if (!daemon_blocked(
	        cfg->socket.path, uid, gid, where, sizeof(where), &st))
		return;
	pw = getpwuid(st.st_uid);
	gr = getgrgid(st.st_gid);
	snprintf(owner, sizeof(owner), "%s", pw ? pw->pw_name : "?");
	snprintf(grp, sizeof(grp), "%s", gr ? gr->gr_name : "?");
	daemon_warn(d,
	    "%s: Socket %s: the MTA (group %s) CANNOT CONNECT: %s is %s:%s "
	    "mode %04o; mail will pass unsigned and unchecked. %s",
	    daemon_at(cfg, "Socket", at, sizeof(at)), cfg->socket.path, group,
	    where, owner, grp, (unsigned)(st.st_mode & 07777),
	    strcmp(where, cfg->socket.path) == 0
	        ? "Set SocketGroup and SocketMode (authmilter.conf(5))"
	        : "Let that group search the directory, or move the socket");
}

/* UserID user[:group]: switch (the socket's owner is set before, see
 * daemon_socket_own). */
static int
daemon_drop(const struct config *cfg, struct buf *errors)
{
	const struct passwd *pw;
	const struct group *gr;
	char at[PATH_MAX + 16];
	gid_t gid;

	if (cfg->user == NULL)
		return 0;
	daemon_at(cfg, "UserID", at, sizeof(at));
	pw = getpwnam(cfg->user);
	if (pw == NULL) {
		buf_addf(errors, "%s: UserID: no user %s\n", at, cfg->user);
		return -ENOENT;
	}
	gid = pw->pw_gid;
	if (cfg->group != NULL) {
		gr = getgrnam(cfg->group);
		if (gr == NULL) {
			buf_addf(errors, "%s: UserID: no group %s\n", at,
			    cfg->group);
			return -ENOENT;
		}
		gid = gr->gr_gid;
	}
	/* started as that user already (systemd's User=): nothing to drop,
	 * and an unprivileged process could not call setgroups() */
	if (getuid() == pw->pw_uid && geteuid() == pw->pw_uid &&
	    getgid() == gid && getegid() == gid)
		return 0;
	if (setgroups(1, &gid) < 0 || setgid(gid) < 0 ||
	    setuid(pw->pw_uid) < 0) {
		buf_addf(errors, "%s: UserID %s: %s\n", at, cfg->user,
		    strerror(errno));
		return -EPERM;
	}
	return 0;
}

static void
daemon_on_signal(int sig)
{
	unsigned char c = (unsigned char)sig;
	int saved = errno;

	(void)!write(daemon_sigpipe[1], &c, 1);
	errno = saved;
}

static void *
daemon_milter_thread(void *arg)
{
	struct daemon *d = arg;
	unsigned char c = 0;

	d->milter_result = milter_main();
	/* tell the main thread that libmilter is gone */
	(void)!write(daemon_sigpipe[1], &c, 1);
	return NULL;
}

static int
daemon_signals(void)
{
	struct sigaction sa;

	if (pipe2(daemon_sigpipe, O_CLOEXEC | O_NONBLOCK) < 0)
		return -errno;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = daemon_on_signal;
	/* one handler at a time, so the pipe has the signals in the order
	 * they came: a TERM on the heels of a HUP would otherwise interrupt
	 * the HUP handler and write first, and the loop would stop before
	 * it saw the HUP */
	sigemptyset(&sa.sa_mask);
	sigaddset(&sa.sa_mask, SIGHUP);
	sigaddset(&sa.sa_mask, SIGTERM);
	sigaddset(&sa.sa_mask, SIGINT);
	sa.sa_flags = SA_RESTART;
	if (sigaction(SIGHUP, &sa, NULL) < 0 ||
	    sigaction(SIGTERM, &sa, NULL) < 0 ||
	    sigaction(SIGINT, &sa, NULL) < 0)
		return -errno;
	signal(SIGPIPE, SIG_IGN);
	return 0;
}

/* HUP, TERM and INT blocked in the calling thread (how) or as before
 * (SIG_SETMASK with old). */
static void
daemon_mask(int how, sigset_t *old)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	pthread_sigmask(how, how == SIG_SETMASK ? old : &set,
	    how == SIG_SETMASK ? NULL : old);
}

/* libmilter's thread and the connection reaper, born with HUP, TERM and
 * INT blocked (see daemon.h); the main thread keeps them. */
static int
daemon_start_threads(struct daemon *d)
{
	sigset_t old;
	int r;

	daemon_mask(SIG_BLOCK, &old);
	r = conns_start();
	if (r == 0) {
		r = -pthread_create(
		    &d->milter_thread, NULL, daemon_milter_thread, d);
		if (r < 0)
			conns_stop();
	}
	daemon_mask(SIG_SETMASK, &old);
	return r;
}

/*
 * libmilter's signal thread calls sigwait() for HUP, TERM and INT; a
 * thread in sigwait() takes a process-directed signal whenever the main
 * thread does not (Linux gives it to the main thread only while that has
 * no signal pending: a TERM right after a HUP went to libmilter, which
 * stopped at once, messages in flight unanswered, or took a HUP for a
 * stop). The linker sends libmilter's sigwait() here (-Wl,--wrap, see
 * conns.h), where its thread waits for ever with the three signals
 * blocked, as every thread but the main one has them: the main thread
 * alone receives them. Nothing else in the program calls sigwait().
 */
int __wrap_sigwait(const sigset_t *set, int *sig);

int
__wrap_sigwait(const sigset_t *set, int *sig)
{
	for (;;)
		pause();
}

/* Wait for signals, and for libmilter ending on its own. */
static void
daemon_loop(struct daemon *d)
{
	struct pollfd p = {.fd = daemon_sigpipe[0], .events = POLLIN};
	unsigned char c;

	for (;;) {
		if (poll(&p, 1, -1) < 0)
			continue;
		while (read(daemon_sigpipe[0], &c, 1) == 1) {
			if (c == SIGHUP) {
				log_notice("SIGHUP: reloading %s", d->path);
				daemon_reload(d);
			} else if (c == SIGTERM || c == SIGINT) {
				log_notice("%s: stopping",
				    c == SIGTERM ? "SIGTERM" : "SIGINT");
				return;
			} else {
				log_err("libmilter stopped");
				return;
			}
		}
	}
}

/* Let the messages in flight finish, then stop. libmilter as Debian
 * builds it (_FFR_WORKERS_POOL) serves sessions from a pool that stops
 * with the listener: once smfi_stop() returns, a message in flight is
 * never answered. So the wait comes first, while new connections are
 * still accepted (a message that starts in the instant between the
 * last check and the stop gets the MTA's milter_default_action). */
static void
daemon_drain(struct daemon *d)
{
	struct timespec pause = {0, 10 * 1000 * 1000};
	int i, n;

	for (i = 0; i < DAEMON_DRAIN_SECONDS * 100; i++) {
		n = atomic_load(&d->messages);
		if (n <= 0)
			break;
		if (i == 0)
			log_notice("waiting for %d messages in flight", n);
		nanosleep(&pause, NULL);
	}
	n = atomic_load(&d->messages);
	if (n > 0)
		log_warning("%d messages still in flight after %d s: "
		            "stopping",
		    n, DAEMON_DRAIN_SECONDS);
	milter_stop();
	pthread_join(d->milter_thread, NULL);
	conns_stop();
}

/* Whether a syslog daemon listens on /dev/log (syslog(3) would drop
 * every line silently otherwise: no console fallback is asked for). */
static bool
daemon_syslog_listens(void)
{
	static const int types[] = {SOCK_DGRAM, SOCK_STREAM};
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	size_t i;
	int fd, r;

	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", _PATH_LOG);
	for (i = 0; i < 2; i++) {
		fd = socket(AF_UNIX, types[i] | SOCK_CLOEXEC, 0);
		if (fd < 0)
			return false;
		r = connect(fd, (struct sockaddr *)&sun, sizeof(sun));
		close(fd);
		if (r == 0)
			return true;
		if (errno != EPROTOTYPE)
			return false;
	}
	return false;
}

/* syslog unless -f or Syslog no; standard error when no syslog daemon
 * listens, rather than nowhere. */
static void
daemon_log_setup(struct daemon *d, const struct config *cfg, bool foreground)
{
	bool want = !foreground && cfg->syslog;

	d->syslog = want && daemon_syslog_listens();
	if (d->syslog) {
		openlog(
		    "authmilter", LOG_PID | LOG_NDELAY, cfg->syslog_facility);
		log_setup(daemon_syslog, cfg->log_level);
		return;
	}
	log_setup(NULL, cfg->log_level);
	if (want)
		log_notice("no syslog daemon listens on %s: logging to "
		           "standard error",
		    _PATH_LOG);
}

/* Pid file, socket, privileges, signals, the libmilter thread. The pid
 * file comes first: a second daemon stops there, before it replaces the
 * running one's unix socket. */
static int
daemon_start(struct daemon *d, struct buf *errors)
{
	const struct config *cfg = d->conf->cfg;
	char at[PATH_MAX + 16];
	int r = 0;

	if (cfg->umask >= 0)
		umask((mode_t)cfg->umask);
	if (cfg->pid_file != NULL)
		r = daemon_pidfile(cfg, &d->pid_fd, errors);
	if (r == 0)
		r = conns_init(
		    cfg->max_connections, cfg->milter_timeout, errors);
	if (r == 0)
		r = milter_setup(d, &cfg->socket, errors);
	if (r == 0 && cfg->socket.type == CONFIG_SOCKET_LOCAL) {
		daemon_socket_own(d, cfg);
		daemon_socket_check(d, cfg);
	}
	/* bound before privileges go, like the milter socket */
	if (r == 0 && d->obs != NULL)
		r = metrics_http_start(observe_metrics(d->obs),
		    cfg->metrics_listen,
		    daemon_at(cfg, "MetricsListen", at, sizeof(at)), &d->http,
		    errors);
	if (r == 0)
		r = daemon_drop(cfg, errors);
	if (r == 0 && geteuid() == 0)
		daemon_warn(d,
		    "running as root%s: a flaw in any parser would "
		    "give root to whoever sends the mail. Set UserID (for "
		    "example UserID authmilter): the daemon binds its socket "
		    "as root, then switches",
		    cfg->user == NULL ? " (no UserID)" : "");
	if (r == 0 && (r = daemon_signals()) < 0)
		buf_addf(errors, "signals: %s\n", strerror(-r));
	if (r == 0 && (r = daemon_start_threads(d)) < 0)
		buf_addf(errors, "thread: %s\n", strerror(-r));
	return r;
}

int
daemon_run(const char *path, bool foreground)
{
	struct daemon d;
	struct buf errors;
	const struct config *cfg;
	char *pid_file = NULL;
	int r;

	memset(&d, 0, sizeof(d));
	d.path = path;
	d.pid_fd = -1;
	atomic_init(&d.messages, 0);
	pthread_mutex_init(&d.lock, NULL);
	buf_init(&errors, DAEMON_ERRORS_MAX);
	r = daemon_load(&d, path, NULL, &d.conf, &errors);
	if (r < 0) {
		fputs(buf_cstr(&errors), stderr);
		fprintf(stderr, "authmilter: %s: not started (%s)\n", path,
		    strerror(-r));
		observe_free(d.obs);
		buf_free(&errors);
		return 1;
	}
	cfg = d.conf->cfg;
	daemon_log_setup(&d, cfg, foreground);
	r = daemon_start(&d, &errors);
	if (r == 0 && cfg->pid_file != NULL &&
	    (pid_file = strdup(cfg->pid_file)) == NULL)
		r = -ENOMEM;
	if (r < 0) {
		daemon_log_lines(LOG_LVL_ERR, &errors);
		log_err("not started");
		metrics_http_stop(d.http);
		if (d.pid_fd >= 0) {
			unlink(cfg->pid_file);
			close(d.pid_fd);
		}
		session_conf_unref(d.conf);
		observe_free(d.obs);
		buf_free(&errors);
		return 1;
	}
	daemon_rotate_ack(cfg);
	log_notice("authmilter %s started: socket %s, %zu keys, mode %s%s, "
	           "authserv-id %s, MaxConnections %u, MilterTimeout %u s%s%s",
	    AUTHMILTER_VERSION, cfg->socket.spec, cfg->n_keys,
	    (cfg->mode & CONFIG_MODE_SIGN) ? "s" : "",
	    (cfg->mode & CONFIG_MODE_VERIFY) ? "v" : "", cfg->authserv_id,
	    conns_max(), cfg->milter_timeout,
	    d.http != NULL ? ", metrics on " : "",
	    d.http != NULL ? cfg->metrics_listen : "");
	daemon_loop(&d);
	/* from here no signal is waited for: blocked here too, they wait
	 * (a second TERM does not cut the drain short) */
	daemon_mask(SIG_BLOCK, NULL);
	daemon_drain(&d);
	/* the file of the start, not of a reload (and it may be gone out
	 * of reach since UserID); removed before the lock goes, so that a
	 * new daemon never has its file removed under it */
	if (pid_file != NULL)
		unlink(pid_file);
	free(pid_file);
	if (d.pid_fd >= 0)
		close(d.pid_fd);
	log_notice("stopped");
	r = d.milter_result;
	metrics_http_stop(d.http);
	session_conf_unref(d.conf);
	observe_free(d.obs);
	buf_free(&errors);
	return r < 0 ? 1 : 0;
}
