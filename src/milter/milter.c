/*
 * milter.c -- libmilter callbacks, each a thin translation into
 * session.h, and the listening socket. See milter.h.
 */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <libmilter/mfapi.h>

#include "authmilter/bounds.h"
#include "authmilter/log.h"
#include "conns.h"
#include "daemon.h"
#include "milter.h"
#include "proc.h"
#include "session.h"

/* libmilter callbacks carry no user pointer: the one daemon. */
static struct daemon *milter_daemon;

/* Per connection, behind smfi_setpriv(). */
struct milter_conn {
	struct session *s;
	unsigned long proto; /* negotiated SMFIP_* flags */
	bool in_message;
};

/*
 * Every callback runs between milter_enter() and milter_leave(): the
 * connection is not timed out while we work on it, and from the end of
 * the callback it is quiet again (conns.h). fd: the callback's
 * connection, as conns_fd() tells it when the callback starts.
 */
static int
milter_enter(void)
{
	int fd = conns_fd();

	conns_busy(fd);
	return fd;
}

/* session: the connection carries an SMTP session from now on */
static sfsistat
milter_leave(int fd, bool session, sfsistat r)
{
	conns_idle(fd, session);
	return r;
}

/* Steps that never reject, so the MTA need not wait for a reply. */
#define MILTER_NR                                                              \
	(SMFIP_NR_CONN | SMFIP_NR_HELO | SMFIP_NR_MAIL | SMFIP_NR_RCPT |       \
	    SMFIP_NR_HDR | SMFIP_NR_EOH | SMFIP_NR_BODY | SMFIP_NR_DATA |      \
	    SMFIP_NR_UNKN)
/* Steps we never need. */
#define MILTER_SKIP (SMFIP_NOUNKNOWN | SMFIP_NODATA)
/* Every step, to switch ourselves off when a connection cannot get
 * memory (the MTA then passes the mail on untouched). */
#define MILTER_NOTHING                                                         \
	(SMFIP_NOCONNECT | SMFIP_NOHELO | SMFIP_NOMAIL | SMFIP_NORCPT |        \
	    SMFIP_NOBODY | SMFIP_NOHDRS | SMFIP_NOEOH | SMFIP_NOUNKNOWN |      \
	    SMFIP_NODATA)

static struct milter_conn *
milter_conn_new(void)
{
	struct milter_conn *c = calloc(1, sizeof(*c));
	struct session_conf *conf;

	if (c == NULL)
		return NULL;
	conf = daemon_conf(milter_daemon);
	c->s = session_new(conf);
	session_conf_unref(conf);
	if (c->s == NULL) {
		free(c);
		return NULL;
	}
	return c;
}

static sfsistat
milter_negotiate(SMFICTX *ctx, unsigned long f0, unsigned long f1,
    unsigned long f2, unsigned long f3, unsigned long *pf0, unsigned long *pf1,
    unsigned long *pf2, unsigned long *pf3)
{
	int fd = milter_enter();
	struct milter_conn *c = milter_conn_new();
	unsigned long want;

	*pf2 = *pf3 = 0;
	if (c == NULL) {
		log_err("out of memory for a new connection: passing it on "
		        "unfiltered");
		*pf0 = 0;
		*pf1 = f1 & MILTER_NOTHING;
		/* no connect step will come: the MTA's session, not a quiet
		 * connection to close (conns.h) */
		return milter_leave(fd, true, SMFIS_CONTINUE);
	}
	want = SMFIP_HDR_LEADSPC | MILTER_NR | MILTER_SKIP;
	if (!session_wants_rcpt(c->s))
		want |= SMFIP_NORCPT;
	*pf0 = f0 & (SMFIF_ADDHDRS | SMFIF_CHGHDRS | SMFIF_QUARANTINE);
	*pf1 = f1 & want;
	c->proto = *pf1;
	smfi_setpriv(ctx, c);
	return milter_leave(fd, false, SMFIS_CONTINUE);
}

/* The reply for a step: none when it was negotiated away. */
static sfsistat
milter_go(const struct milter_conn *c, unsigned long nr)
{
	return (c->proto & nr) ? SMFIS_NOREPLY : SMFIS_CONTINUE;
}

static struct milter_conn *
milter_conn(SMFICTX *ctx)
{
	struct milter_conn *c = smfi_getpriv(ctx);

	if (c == NULL) {
		/* an MTA that did not negotiate: set up here */
		c = milter_conn_new();
		if (c != NULL)
			smfi_setpriv(ctx, c);
	}
	return c;
}

static sfsistat
milter_connect(SMFICTX *ctx, char *hostname, _SOCK_ADDR *hostaddr)
{
	int fd = milter_enter();
	struct milter_conn *c = milter_conn(ctx);

	if (c == NULL)
		return milter_leave(fd, true, SMFIS_ACCEPT);
	session_connect(c->s, hostname, hostaddr);
	return milter_leave(fd, true, milter_go(c, SMFIP_NR_CONN));
}

static sfsistat
milter_helo(SMFICTX *ctx, char *name)
{
	int fd = milter_enter();
	struct milter_conn *c = milter_conn(ctx);

	if (c == NULL)
		return milter_leave(fd, true, SMFIS_ACCEPT);
	session_helo(c->s, name);
	return milter_leave(fd, true, milter_go(c, SMFIP_NR_HELO));
}

static sfsistat
milter_envfrom(SMFICTX *ctx, char **argv)
{
	int fd = milter_enter();
	struct milter_conn *c = milter_conn(ctx);

	if (c == NULL)
		return milter_leave(fd, true, SMFIS_ACCEPT);
	if (!c->in_message)
		daemon_messages(milter_daemon, +1);
	c->in_message = true;
	session_envfrom(c->s, argv[0], smfi_getsymval(ctx, "{auth_authen}"),
	    smfi_getsymval(ctx, "{daemon_name}"), smfi_getsymval(ctx, "i"));
	return milter_leave(fd, true, milter_go(c, SMFIP_NR_MAIL));
}

static sfsistat
milter_envrcpt(SMFICTX *ctx, char **argv)
{
	int fd = milter_enter();
	struct milter_conn *c = milter_conn(ctx);

	if (c == NULL)
		return milter_leave(fd, true, SMFIS_ACCEPT);
	session_rcpt(c->s, argv[0]);
	return milter_leave(fd, true, milter_go(c, SMFIP_NR_RCPT));
}

static sfsistat
milter_header(SMFICTX *ctx, char *name, char *value)
{
	int fd = milter_enter();
	struct milter_conn *c = milter_conn(ctx);

	if (c == NULL)
		return milter_leave(fd, true, SMFIS_ACCEPT);
	session_header(c->s, name, value, (c->proto & SMFIP_HDR_LEADSPC) != 0);
	return milter_leave(fd, true, milter_go(c, SMFIP_NR_HDR));
}

static sfsistat
milter_eoh(SMFICTX *ctx)
{
	int fd = milter_enter();
	struct milter_conn *c = milter_conn(ctx);

	if (c == NULL)
		return milter_leave(fd, true, SMFIS_ACCEPT);
	session_eoh(c->s);
	return milter_leave(fd, true, milter_go(c, SMFIP_NR_EOH));
}

static sfsistat
milter_body(SMFICTX *ctx, unsigned char *chunk, size_t len)
{
	int fd = milter_enter();
	struct milter_conn *c = milter_conn(ctx);

	if (c == NULL)
		return milter_leave(fd, true, SMFIS_ACCEPT);
	session_body(c->s, chunk, len);
	return milter_leave(fd, true, milter_go(c, SMFIP_NR_BODY));
}

/* Apply the edits session_eom() asked for. */
static void
milter_apply(
    SMFICTX *ctx, const struct milter_conn *c, const struct session_outcome *o)
{
	bool leadspc = (c->proto & SMFIP_HDR_LEADSPC) != 0;
	const struct session_edit *e;
	char *value;
	size_t i;
	int r;

	for (i = 0; i < o->n_edits; i++) {
		e = &o->edits[i];
		if (e->kind == SESSION_EDIT_DELETE) {
			r = smfi_chgheader(
			    ctx, (char *)(uintptr_t)e->name, e->index, NULL);
		} else {
			/* without HDR_LEADSPC the MTA adds the space */
			value = (char *)(uintptr_t)e->value;
			if (!leadspc && value[0] == ' ')
				value++;
			r = smfi_insheader(
			    ctx, 0, (char *)(uintptr_t)e->name, value);
		}
		if (r != MI_SUCCESS)
			log_warning("could not %s a %s header field",
			    e->kind == SESSION_EDIT_DELETE ? "delete"
			                                   : "insert",
			    e->name);
	}
	if (o->quarantine != NULL &&
	    smfi_quarantine(ctx, (char *)(uintptr_t)o->quarantine) !=
	        MI_SUCCESS)
		log_warning("could not quarantine a message");
}

static sfsistat
milter_eom(SMFICTX *ctx)
{
	int fd = milter_enter();
	struct milter_conn *c = milter_conn(ctx);
	struct session_outcome o;

	if (c == NULL)
		return milter_leave(fd, true, SMFIS_ACCEPT);
	session_eom(c->s, smfi_getsymval(ctx, "i"), &o);
	if (c->in_message)
		daemon_messages(milter_daemon, -1);
	c->in_message = false;
	/* the edits go out with the reply, in one write */
	conns_gather(fd);
	milter_apply(ctx, c, &o);
	if (o.reply == SESSION_CONTINUE)
		return milter_leave(fd, true, SMFIS_CONTINUE);
	smfi_setreply(ctx, (char *)(uintptr_t)o.code,
	    (char *)(uintptr_t)o.xcode, (char *)(uintptr_t)o.text);
	return milter_leave(fd, true,
	    o.reply == SESSION_REJECT ? SMFIS_REJECT : SMFIS_TEMPFAIL);
}

static sfsistat
milter_abort(SMFICTX *ctx)
{
	int fd = milter_enter();
	struct milter_conn *c = smfi_getpriv(ctx);

	if (c == NULL)
		return milter_leave(fd, true, SMFIS_CONTINUE);
	session_abort(c->s);
	if (c->in_message)
		daemon_messages(milter_daemon, -1);
	c->in_message = false;
	return milter_leave(fd, true, SMFIS_CONTINUE);
}

/* Also called by libmilter's pool controller when it closes a quiet
 * session: then conns_fd() names no connection of ours (the controller
 * reads only its pipe) and milter_enter/leave do nothing. */
static sfsistat
milter_close(SMFICTX *ctx)
{
	int fd = milter_enter();
	struct milter_conn *c = smfi_getpriv(ctx);

	if (c == NULL)
		return milter_leave(fd, false, SMFIS_CONTINUE);
	if (c->in_message)
		daemon_messages(milter_daemon, -1);
	session_free(c->s);
	free(c);
	smfi_setpriv(ctx, NULL);
	return milter_leave(fd, false, SMFIS_CONTINUE);
}

/* libmilter's listening socket, found after smfi_opensocket(); -1 when
 * it could not be found. */
static int milter_listen_fd = -1;

/* Whether fd is a listening socket bound to the config_socket ctx. */
static bool
milter_is_listener(int fd, void *ctx)
{
	const struct config_socket *sock = ctx;
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss), ol;
	int on = 0;

	ol = sizeof(on);
	if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &on, &ol) < 0 ||
	    on == 0 || getsockname(fd, (void *)&ss, &len) < 0)
		return false;
	if (ss.ss_family == AF_UNIX)
		return sock->type == CONFIG_SOCKET_LOCAL &&
		       strcmp(((struct sockaddr_un *)&ss)->sun_path,
		           sock->path) == 0;
	if (ss.ss_family == AF_INET)
		return sock->type != CONFIG_SOCKET_LOCAL &&
		       ntohs(((struct sockaddr_in *)&ss)->sin_port) ==
		           sock->port;
	if (ss.ss_family == AF_INET6)
		return sock->type != CONFIG_SOCKET_LOCAL &&
		       ntohs(((struct sockaddr_in6 *)&ss)->sin6_port) ==
		           sock->port;
	return false;
}

/* libmilter opens and accepts on its listening socket itself and has no
 * call that returns it: it is found among our descriptors. */
static int
milter_find_listener(const struct config_socket *sock)
{
	return proc_find_fd(milter_is_listener, (void *)(uintptr_t)sock);
}

/*
 * TCP_NODELAY. libmilter writes every reply and every header edit with a
 * write of its own, and accepts connections itself, so authmilter never
 * sees a connected socket. With Nagle's algorithm on, a small write that
 * follows another not yet acknowledged waits for the MTA's delayed ACK
 * (about 40 ms on Linux): an end of message with two edits and a reply
 * stalls. Linux copies TCP_NODELAY from a listening socket to the
 * sockets accept() returns, so setting it on libmilter's listening
 * socket is enough. The other direction (an MTA writing two small
 * packets in a row) is the MTA host's to fix; figures and the fix:
 * tests/bench/README.md, "TCP_NODELAY and delayed ACKs".
 */
static int
milter_nodelay(int fd)
{
	int on = 1;

	if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on)) < 0)
		return -errno;
	return 0;
}

int
milter_setup(
    struct daemon *d, const struct config_socket *sock, struct buf *errors)
{
	struct smfiDesc desc;
	int r;

	milter_daemon = d;
	memset(&desc, 0, sizeof(desc));
	desc.xxfi_name = (char *)(uintptr_t) "authmilter";
	desc.xxfi_version = SMFI_VERSION;
	desc.xxfi_flags = SMFIF_ADDHDRS | SMFIF_CHGHDRS | SMFIF_QUARANTINE;
	desc.xxfi_connect = milter_connect;
	desc.xxfi_helo = milter_helo;
	desc.xxfi_envfrom = milter_envfrom;
	desc.xxfi_envrcpt = milter_envrcpt;
	desc.xxfi_header = milter_header;
	desc.xxfi_eoh = milter_eoh;
	desc.xxfi_body = milter_body;
	desc.xxfi_eom = milter_eom;
	desc.xxfi_abort = milter_abort;
	desc.xxfi_close = milter_close;
	desc.xxfi_negotiate = milter_negotiate;
	if (smfi_register(desc) != MI_SUCCESS) {
		buf_addf(errors, "libmilter: registration failed\n");
		return -EIO;
	}
	/* not MilterTimeout: see conns.h */
	smfi_settimeout(BOUND_MILTER_SESSION_IDLE);
	if (smfi_setconn(sock->spec) != MI_SUCCESS ||
	    smfi_opensocket(true) != MI_SUCCESS) {
		buf_addf(errors,
		    "Socket %s: cannot listen (in use, or no "
		    "permission?)\n",
		    sock->spec);
		return -EADDRINUSE;
	}
	milter_listen_fd = milter_find_listener(sock);
	if (milter_listen_fd < 0)
		log_warning(
		    "Socket %s: listening socket not found", sock->spec);
	if (sock->type != CONFIG_SOCKET_LOCAL) {
		r = milter_listen_fd < 0 ? milter_listen_fd
		                         : milter_nodelay(milter_listen_fd);
		if (r < 0)
			log_warning("Socket %s: could not set TCP_NODELAY: "
			            "%s",
			    sock->spec, strerror(-r));
	}
	return 0;
}

int
milter_main(void)
{
	return smfi_main() == MI_SUCCESS ? 0 : -EIO;
}

/* A connection of our own to the listening socket, to end libmilter's
 * poll early (see milter_stop). @return the descriptor, or -1. */
static int
milter_poke(void)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	struct sockaddr_in *in = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;
	int fd;

	if (milter_listen_fd < 0 ||
	    getsockname(milter_listen_fd, (void *)&ss, &len) < 0)
		return -1;
	if (ss.ss_family == AF_INET && in->sin_addr.s_addr == INADDR_ANY)
		in->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (ss.ss_family == AF_INET6 &&
	    IN6_IS_ADDR_UNSPECIFIED(&in6->sin6_addr))
		in6->sin6_addr = in6addr_loopback;
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd >= 0 && connect(fd, (void *)&ss, len) < 0) {
		close(fd);
		fd = -1;
	}
	return fd;
}

static atomic_int milter_stop_tid;

static void *
milter_stop_thread(void *arg)
{
	atomic_store(&milter_stop_tid, (int)gettid());
	smfi_stop();
	atomic_store(&milter_stop_tid, -1);
	return arg;
}

/*
 * libmilter's listener holds a lock while it polls its socket (up to 5 s
 * at a time); smfi_stop() marks the milter stopped, then waits for that
 * lock to close the socket, and the listener sees the mark when its poll
 * ends. To stop at once: smfi_stop() runs in a thread of its own; once
 * that thread sleeps on the lock (so the mark is set), a connection of
 * our own ends the poll. Poking before the mark is set could let the
 * listener find its socket closed under it, and libmilter then aborts
 * every session instead of letting them finish (a shutdown() of the
 * socket has the same effect on TCP, where poll reports an exception).
 * If the thread is not seen asleep within a second, no poke: the stop
 * then takes up to libmilter's 5 s.
 */
void
milter_stop(void)
{
	struct timespec ms = {0, 1000 * 1000};
	pthread_t t;
	int fd = -1, i, tid;

	atomic_store(&milter_stop_tid, 0);
	if (pthread_create(&t, NULL, milter_stop_thread, NULL) != 0) {
		smfi_stop();
		return;
	}
	for (i = 0; i < 1000; i++) {
		tid = atomic_load(&milter_stop_tid);
		if (tid < 0)
			break; /* done already */
		if (tid > 0 && proc_thread_sleeps(tid)) {
			fd = milter_poke();
			break;
		}
		nanosleep(&ms, NULL);
	}
	pthread_join(t, NULL);
	if (fd >= 0)
		close(fd);
}
