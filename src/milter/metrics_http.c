/*
 * metrics_http.c -- the metrics listener over libmicrohttpd. See
 * metrics_http.h.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <microhttpd.h>

#include "authmilter/bounds.h"
#include "authmilter/log.h"
#include "authmilter/xalloc.h"
#include "metrics_http.h"

/* The text exposition format's content type (version 0.0.4). */
#define METRICS_HTTP_TYPE "text/plain; version=0.0.4; charset=utf-8"

struct metrics_http {
	struct metrics *m;      /* borrowed */
	struct MHD_Daemon *mhd; /* owns the socket once started */
	char *unix_path;        /* a unix socket to remove, or NULL */
};

static enum MHD_Result
metrics_http_reply(struct MHD_Connection *c, unsigned status, const char *text,
    const char *allow)
{
	struct MHD_Response *r;
	enum MHD_Result ok;

	r = MHD_create_response_from_buffer(
	    strlen(text), (void *)(uintptr_t)text, MHD_RESPMEM_PERSISTENT);
	if (r == NULL)
		return MHD_NO;
	MHD_add_response_header(r, "Content-Type", "text/plain; charset=utf-8");
	if (allow != NULL)
		MHD_add_response_header(r, "Allow", allow);
	ok = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return ok;
}

static enum MHD_Result
metrics_http_answer(void *cls, struct MHD_Connection *c, const char *url,
    const char *method, const char *version, const char *upload_data,
    size_t *upload_data_size, void **con_cls)
{
	struct metrics_http *h = cls;
	struct MHD_Response *r;
	enum MHD_Result ok;
	struct buf b;
	size_t len;
	char *text;

	if (strcmp(url, "/metrics") != 0)
		return metrics_http_reply(
		    c, MHD_HTTP_NOT_FOUND, "not found: try /metrics\n", NULL);
	if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
		return metrics_http_reply(c, MHD_HTTP_METHOD_NOT_ALLOWED,
		    "method not allowed\n", "GET, HEAD");
	buf_init(&b, BOUND_METRICS_OUTPUT_BYTES);
	if (metrics_write(h->m, &b) != 0 ||
	    (text = buf_steal(&b, &len)) == NULL) {
		buf_free(&b);
		log_warning("metrics: the scrape does not fit in %d bytes",
		    BOUND_METRICS_OUTPUT_BYTES);
		return metrics_http_reply(c, MHD_HTTP_INTERNAL_SERVER_ERROR,
		    "metrics too large\n", NULL);
	}
	buf_free(&b);
	r = MHD_create_response_from_buffer(len, text, MHD_RESPMEM_MUST_FREE);
	if (r == NULL) {
		free(text);
		return MHD_NO;
	}
	MHD_add_response_header(r, "Content-Type", METRICS_HTTP_TYPE);
	ok = MHD_queue_response(c, MHD_HTTP_OK, r);
	MHD_destroy_response(r);
	return ok;
}

static void
metrics_http_log(void *cls, const char *fmt, va_list ap)
{
	char line[512];
	size_t n;

	vsnprintf(line, sizeof(line), fmt, ap);
	n = strlen(line);
	while (n > 0 && line[n - 1] == '\n')
		line[--n] = '\0';
	log_warning("metrics listener: %s", line);
}

/* A unix socket path that another process still listens on. */
static bool
metrics_http_unix_live(const struct sockaddr_un *sun)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	bool live;

	if (fd < 0)
		return false;
	live = connect(fd, (const struct sockaddr *)sun, sizeof(*sun)) == 0;
	close(fd);
	return live;
}

/* Bind and listen on l. @return the socket or -errno. */
static int
metrics_http_bind(const struct metrics_listen *l)
{
	struct sockaddr_storage ss;
	struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
	struct sockaddr_un *sun = (struct sockaddr_un *)&ss;
	socklen_t len;
	struct stat st;
	int fd, one = 1, r;

	memset(&ss, 0, sizeof(ss));
	if (l->family == AF_INET) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons((uint16_t)l->port);
		inet_pton(AF_INET, l->addr, &sin->sin_addr);
		len = sizeof(*sin);
	} else if (l->family == AF_INET6) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((uint16_t)l->port);
		inet_pton(AF_INET6, l->addr, &sin6->sin6_addr);
		len = sizeof(*sin6);
	} else {
		sun->sun_family = AF_UNIX;
		snprintf(sun->sun_path, sizeof(sun->sun_path), "%s", l->path);
		len = sizeof(*sun);
		/* a socket left by a daemon that died is removed; one that
		 * answers is somebody's */
		if (lstat(l->path, &st) == 0 && S_ISSOCK(st.st_mode)) {
			if (metrics_http_unix_live(sun))
				return -EADDRINUSE;
			unlink(l->path);
		}
	}
	fd = socket(l->family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	if (l->family != AF_UNIX)
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (l->family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&ss, len) < 0 ||
	    listen(fd, BOUND_METRICS_CONNECTIONS) < 0) {
		r = -errno;
		close(fd);
		return r;
	}
	return fd;
}

int
metrics_http_start(struct metrics *m, const char *spec, const char *at,
    struct metrics_http **ret, struct buf *errors)
{
	struct metrics_listen l;
	struct metrics_http *h;
	const char *why = NULL;
	sigset_t set, old;
	int fd;

	if (metrics_listen_parse(spec, &l, &why) < 0) {
		buf_addf(errors, "%s: MetricsListen %s: %s\n", at, spec, why);
		return -EINVAL;
	}
	fd = metrics_http_bind(&l);
	if (fd < 0) {
		buf_addf(errors, "%s: MetricsListen %s: %s%s\n", at, spec,
		    strerror(-fd),
		    fd == -EADDRINUSE ? " (another process listens there)"
		                      : "");
		return fd;
	}
	h = xcalloc(1, sizeof(*h));
	h->m = m;
	if (l.family == AF_UNIX)
		h->unix_path = xstrdup(l.path);
	/* the server's thread is born with the daemon's signals blocked */
	sigemptyset(&set);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	pthread_sigmask(SIG_BLOCK, &set, &old);
	h->mhd = MHD_start_daemon(
	    MHD_USE_AUTO_INTERNAL_THREAD | MHD_USE_ERROR_LOG, 0, NULL, NULL,
	    metrics_http_answer, h,
	    /* the logger first, or MHD logs about the options before it */
	    MHD_OPTION_EXTERNAL_LOGGER, metrics_http_log, NULL,
	    MHD_OPTION_LISTEN_SOCKET, (MHD_socket)fd,
	    MHD_OPTION_CONNECTION_LIMIT, (unsigned)BOUND_METRICS_CONNECTIONS,
	    MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)BOUND_METRICS_TIMEOUT,
	    MHD_OPTION_CONNECTION_MEMORY_LIMIT,
	    (size_t)BOUND_METRICS_REQUEST_BYTES, MHD_OPTION_END);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (h->mhd == NULL) {
		close(fd);
		if (h->unix_path != NULL)
			unlink(h->unix_path);
		free(h->unix_path);
		free(h);
		buf_addf(errors,
		    "%s: MetricsListen %s: the HTTP server did "
		    "not start\n",
		    at, spec);
		return -EIO;
	}
	*ret = h;
	return 0;
}

struct metrics_http *
metrics_http_stop(struct metrics_http *h)
{
	if (h == NULL)
		return NULL;
	MHD_stop_daemon(h->mhd); /* closes the socket */
	if (h->unix_path != NULL)
		unlink(h->unix_path);
	free(h->unix_path);
	free(h);
	return NULL;
}
