/*
 * metrics_http.h -- the metrics listener (MetricsListen): an HTTP server
 * from libmicrohttpd, not one of our own, serving GET (and HEAD)
 * /metrics in the Prometheus text exposition format; every other path is
 * 404, every other method on /metrics 405.
 *
 * It runs in libmicrohttpd's one internal thread, which serves every
 * connection with non-blocking I/O (epoll), so a slow or half-open
 * client holds one connection slot and nothing else: at most
 * BOUND_METRICS_CONNECTIONS at once, each closed after
 * BOUND_METRICS_TIMEOUT seconds without progress, requests bounded by
 * BOUND_METRICS_REQUEST_BYTES. The milter threads never wait for it: a
 * scrape reads the counters (metrics.h) without a lock.
 *
 * The socket (IPv4, IPv6 or unix, metrics_listen_parse) is bound by the
 * daemon itself before privileges are dropped, so a port already in use
 * is a start-up error naming the option and its line, and handed to
 * libmicrohttpd. The thread starts with SIGHUP, SIGTERM and SIGINT
 * blocked, as the libmilter thread does (daemon.h).
 *
 * Thread rules: start and stop from the daemon's main thread.
 */
#ifndef AUTHMILTER_METRICS_HTTP_H
#define AUTHMILTER_METRICS_HTTP_H

#include "authmilter/buf.h"
#include "authmilter/metrics.h"

struct metrics_http;

/* metrics_http_start -- listen on spec (MetricsListen, already checked)
 * and serve m (borrowed: it outlives the listener). at is "file:line"
 * of the option, for errors.
 * @return 0 and *ret; -errno with one line in errors. */
int metrics_http_start(struct metrics *m, const char *spec, const char *at,
    struct metrics_http **ret, struct buf *errors);

/* metrics_http_stop -- stop serving, close the socket (a unix socket is
 * removed). NULL is a no-op. @return NULL */
struct metrics_http *metrics_http_stop(struct metrics_http *h);

#endif
