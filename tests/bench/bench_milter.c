/*
 * bench_milter.c -- a milter protocol load client: plays the MTA (as
 * Postfix does: protocol 6, every step offered, one connection per
 * message) against a running milter and reports messages per second and
 * the milter's CPU time per message, read from /proc/PID/stat.
 *
 *   bench_milter SOCKET PID MODE SIZE COUNT
 *     SOCKET  unix:/path or inet:PORT@127.0.0.1
 *     PID     the milter's process id (for its CPU time)
 *     MODE    sign: client 203.0.113.7 (internal) sends unsigned mail
 *             verify: client 192.0.2.10 sends mail carrying the
 *             signature the milter made in a first signing round
 *             null: client 192.0.2.10 sends unsigned mail, nothing is
 *             expected back but continue/accept (the do-nothing milter)
 *     SIZE    body bytes (about)
 *     COUNT   messages
 *
 * With BENCH_PEER="SOCKET2 PID2" in the environment, every message also
 * goes to a second milter after the first, as an MTA chains milters, with
 * the Authentication-Results header the first one added (opendkim then
 * opendmarc); the CPU figure is the two processes' together.
 *
 * Prints one line: "MODE SIZE: N msgs/s, X ms CPU/msg (milter)". Asserts
 * nothing: a benchmark (tests/bench/README.md).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

/* milter protocol (libmilter's mfdef.h): commands and replies */
#define CMD_OPTNEG 'O'
#define CMD_MACRO 'D'
#define CMD_CONNECT 'C'
#define CMD_HELO 'H'
#define CMD_MAIL 'M'
#define CMD_RCPT 'R'
#define CMD_HEADER 'L'
#define CMD_EOH 'N'
#define CMD_BODY 'B'
#define CMD_EOM 'E'
#define CMD_QUIT 'Q'
#define P_NOCONNECT 0x1
#define P_NOHELO 0x2
#define P_NOMAIL 0x4
#define P_NORCPT 0x8
#define P_NR_CONN 0x1000
#define P_NR_HELO 0x2000
#define P_NR_MAIL 0x4000
#define P_NR_RCPT 0x8000
#define P_NR_EOH 0x40000
#define P_NR_HDR 0x80
#define P_NR_BODY 0x80000
#define P_HDR_LEADSPC 0x100000
#define BODY_CHUNK 65535

struct conn {
	int fd;
	uint32_t proto; /* what the milter negotiated */
	char sig[8192]; /* the DKIM-Signature inserted, if any */
	char ar[8192];  /* the Authentication-Results added, if any */
};

/* a header the first milter of a chain added, sent on to the peer */
static const char *chain_ar;

static void
die(const char *what)
{
	fprintf(stderr, "bench_milter: %s: %s\n", what, strerror(errno));
	exit(1);
}

static void
xwrite(int fd, const void *p, size_t n)
{
	const char *c = p;
	ssize_t w;

	while (n > 0) {
		w = write(fd, c, n);
		if (w <= 0)
			die("write");
		c += w;
		n -= (size_t)w;
	}
}

static void
xread(int fd, void *p, size_t n)
{
	char *c = p;
	ssize_t r;

	while (n > 0) {
		r = read(fd, c, n);
		if (r <= 0) {
			if (r == 0)
				errno = ECONNRESET;
			die("read");
		}
		c += r;
		n -= (size_t)r;
	}
}

/* one packet: length (command included), command, data */
static void
send_cmd(struct conn *c, char cmd, const void *data, size_t len)
{
	char hdr[5];
	uint32_t n = htonl((uint32_t)len + 1);

	memcpy(hdr, &n, 4);
	hdr[4] = cmd;
	if (len == 0) {
		xwrite(c->fd, hdr, 5);
		return;
	}
	/* one write: the MTA side of Postfix writes whole packets too */
	{
		char *buf = malloc(len + 5);

		if (buf == NULL)
			die("malloc");
		memcpy(buf, hdr, 5);
		memcpy(buf + 5, data, len);
		xwrite(c->fd, buf, len + 5);
		free(buf);
	}
}

/* read one reply; returns its command, data in buf (cap bytes) */
static char
read_reply(struct conn *c, char *buf, size_t cap, size_t *ret_len)
{
	uint32_t n;
	char cmd;

	xread(c->fd, &n, 4);
	n = ntohl(n);
	if (n == 0 || n - 1 > cap) {
		errno = EPROTO;
		die("reply too long");
	}
	xread(c->fd, &cmd, 1);
	xread(c->fd, buf, n - 1);
	*ret_len = n - 1;
	return cmd;
}

static void
maybe_reply(struct conn *c, uint32_t nr)
{
	char buf[1024];
	size_t n;

	if (!(c->proto & nr))
		read_reply(c, buf, sizeof(buf), &n);
}

static int
dial(const char *spec)
{
	struct sockaddr_un un;
	struct sockaddr_in in;
	int fd, one = 1;

	if (strncmp(spec, "unix:", 5) == 0) {
		memset(&un, 0, sizeof(un));
		un.sun_family = AF_UNIX;
		snprintf(un.sun_path, sizeof(un.sun_path), "%s", spec + 5);
		fd = socket(AF_UNIX, SOCK_STREAM, 0);
		if (fd < 0 || connect(fd, (void *)&un, sizeof(un)) < 0)
			die(spec);
		return fd;
	}
	memset(&in, 0, sizeof(in));
	in.sin_family = AF_INET;
	in.sin_port = htons((uint16_t)atoi(spec + 5));
	in.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0 || connect(fd, (void *)&in, sizeof(in)) < 0)
		die(spec);
	/* Postfix's milter client does not set TCP_NODELAY either; set
	 * BENCH_NODELAY=1 to see what it would change */
	if (getenv("BENCH_NODELAY") != NULL)
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return fd;
}

static void
negotiate(struct conn *c)
{
	uint32_t v[3] = {htonl(6), htonl(0x1ff), htonl(0x1fffff)};
	char buf[64];
	size_t n;

	send_cmd(c, CMD_OPTNEG, v, sizeof(v));
	if (read_reply(c, buf, sizeof(buf), &n) != CMD_OPTNEG || n < 12) {
		errno = EPROTO;
		die("negotiation");
	}
	memcpy(&c->proto, buf + 8, 4);
	c->proto = ntohl(c->proto);
}

/* name\0value\0 */
static void
send_pair(struct conn *c, char cmd, const char *a, const char *b)
{
	size_t la = strlen(a) + 1, lb = b != NULL ? strlen(b) + 1 : 0;
	char *p = malloc(la + lb);

	if (p == NULL)
		die("malloc");
	memcpy(p, a, la);
	if (b != NULL)
		memcpy(p + la, b, lb);
	send_cmd(c, cmd, p, la + lb);
	free(p);
}

static void
send_header(struct conn *c, const char *name, const char *value)
{
	/* with HDR_LEADSPC the value keeps its space */
	send_pair(c, CMD_HEADER, name,
	    (c->proto & P_HDR_LEADSPC) ? value : value + 1);
	maybe_reply(c, P_NR_HDR);
}

/* The end of message: collect replies up to the final one; keep an
 * inserted DKIM-Signature. */
static char
eom(struct conn *c)
{
	static char buf[65536];
	size_t n;
	char r;

	send_cmd(c, CMD_EOM, NULL, 0);
	for (;;) {
		r = read_reply(c, buf, sizeof(buf) - 1, &n);
		buf[n] = '\0';
		if (r == 'i' && n > 4 &&
		    strcmp(buf + 4, "DKIM-Signature") == 0) {
			const char *v = buf + 4 + sizeof("DKIM-Signature");
			size_t vl = strnlen(v, sizeof(c->sig) - 1);

			memcpy(c->sig, v, vl);
			c->sig[vl] = '\0';
		}
		if ((r == 'i' || r == 'h') && n > 4) {
			const char *nm = r == 'i' ? buf + 4 : buf;
			const char *v = nm + strlen(nm) + 1;

			if (strcmp(nm, "Authentication-Results") == 0 &&
			    v < buf + n)
				snprintf(c->ar, sizeof(c->ar), "%s%s",
				    *v == ' ' ? "" : " ", v);
		}
		if (r != 'h' && r != 'i' && r != 'm' && r != 'q')
			return r;
	}
}

static char
one_message(const char *spec, bool sign, const char *sig, const char *body,
    size_t blen, char *ret_sig, char *ret_ar)
{
	static const char host[] = "client.example";
	struct conn c = {0};
	char connect_data[128], *p;
	const char *ip = sign ? "203.0.113.7" : "192.0.2.10";
	size_t off, n;
	char r;

	c.fd = dial(spec);
	negotiate(&c);
	/* connect: host\0 family port(2) address\0 */
	p = connect_data;
	memcpy(p, host, sizeof(host));
	p += sizeof(host);
	*p++ = '4';
	*p++ = 0x30;
	*p++ = 0x39;
	memcpy(p, ip, strlen(ip) + 1);
	p += strlen(ip) + 1;
	send_cmd(&c, CMD_CONNECT, connect_data, (size_t)(p - connect_data));
	maybe_reply(&c, P_NR_CONN);
	send_pair(&c, CMD_HELO, host, NULL);
	maybe_reply(&c, P_NR_HELO);
	send_pair(&c, CMD_MACRO, "Mi", "BENCHQID");
	send_pair(&c, CMD_MAIL, "<user@example.com>", NULL);
	maybe_reply(&c, P_NR_MAIL);
	if (!(c.proto & P_NORCPT)) {
		send_pair(&c, CMD_RCPT, "<rcpt@example.net>", NULL);
		maybe_reply(&c, P_NR_RCPT);
	}
	if (chain_ar != NULL)
		send_header(&c, "Authentication-Results", chain_ar);
	if (sig != NULL)
		send_header(&c, "DKIM-Signature", sig);
	send_header(&c, "From", " User <user@example.com>");
	send_header(&c, "To", " rcpt@example.net");
	send_header(&c, "Subject", " benchmark message");
	send_header(&c, "Date", " Mon, 23 Nov 2026 12:00:00 +0000");
	send_header(&c, "Message-ID", " <bench@example.com>");
	send_cmd(&c, CMD_EOH, NULL, 0);
	maybe_reply(&c, P_NR_EOH);
	for (off = 0; off < blen; off += n) {
		n = blen - off < BODY_CHUNK ? blen - off : BODY_CHUNK;
		send_cmd(&c, CMD_BODY, body + off, n);
		maybe_reply(&c, P_NR_BODY);
	}
	r = eom(&c);
	send_cmd(&c, CMD_QUIT, NULL, 0);
	close(c.fd);
	if (ret_sig != NULL)
		memcpy(ret_sig, c.sig, sizeof(c.sig));
	if (ret_ar != NULL)
		memcpy(ret_ar, c.ar, sizeof(c.ar));
	return r;
}

/* utime + stime of pid, in clock ticks */
static unsigned long long
cpu_ticks(const char *pid)
{
	char path[64], line[4096], *p;
	unsigned long long ut = 0, st = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%s/stat", pid);
	f = fopen(path, "r");
	if (f == NULL || fgets(line, sizeof(line), f) == NULL)
		die(path);
	fclose(f);
	p = strrchr(line, ')');
	/* fields after "pid (comm)": state is 3rd, utime 14th, stime 15th */
	if (p == NULL || sscanf(p + 2,
	                     "%*c %*d %*d %*d %*d %*d %*u %*u %*u "
	                     "%*u %*u %llu %llu",
	                     &ut, &st) != 2) {
		errno = EPROTO;
		die(path);
	}
	return ut + st;
}

static char *
make_body(size_t size, size_t *ret_len)
{
	static const char line[] = "The quick brown fox jumps over the lazy "
	                           "dog, again and again and again.\r\n";
	size_t n = sizeof(line) - 1, len = 0;
	char *b = malloc(size + n);

	if (b == NULL)
		die("malloc");
	while (len < size) {
		memcpy(b + len, line, n);
		len += n;
	}
	*ret_len = len;
	return b;
}

/* the second milter of a chain (BENCH_PEER), if any */
struct peer {
	char spec[512];
	char pid[32];
};

/* one message through the milter and then the peer, if any */
static bool
chain_message(const char *spec, const struct peer *peer, bool sign, bool null,
    const char *sig, const char *body, size_t blen)
{
	static char got[8192], ar[8192];
	char r;

	got[0] = '\0';
	ar[0] = '\0';
	r = one_message(
	    spec, sign, sign || null ? NULL : sig, body, blen, got, ar);
	/* accepted ('c' continue or 'a' accept), and signed when signing */
	if ((r != 'c' && r != 'a') || (sign && got[0] == '\0'))
		return false;
	if (peer == NULL)
		return true;
	chain_ar = ar[0] != '\0' ? ar : NULL;
	r = one_message(peer->spec, sign, sign || null ? NULL : sig, body, blen,
	    NULL, NULL);
	chain_ar = NULL;
	return r == 'c' || r == 'a';
}

int
main(int argc, char **argv)
{
	struct timespec t0, t1;
	unsigned long long c0, c1;
	char sig[8192] = "", *body;
	const char *env = getenv("BENCH_PEER");
	struct peer peer_buf, *peer = NULL;
	size_t blen, count, i, bad = 0;
	bool sign, null;
	double secs;

	if (argc != 6) {
		fprintf(stderr, "usage: bench_milter SOCKET PID "
		                "sign|verify|null SIZE COUNT\n");
		return 2;
	}
	if (env != NULL && env[0] != '\0') {
		if (sscanf(env, "%511s %31s", peer_buf.spec, peer_buf.pid) !=
		    2) {
			fprintf(stderr, "bench_milter: BENCH_PEER: "
			                "\"SOCKET PID\" expected\n");
			return 2;
		}
		peer = &peer_buf;
	}
	sign = strcmp(argv[3], "sign") == 0;
	null = strcmp(argv[3], "null") == 0;
	body = make_body(strtoul(argv[4], NULL, 10), &blen);
	count = strtoul(argv[5], NULL, 10);
	/* a signature for the verify rounds (and a warm DNS cache) */
	if (!null)
		one_message(argv[1], true, NULL, body, blen, sig, NULL);
	if (!sign && !null && sig[0] == '\0') {
		fprintf(stderr, "bench_milter: no signature made\n");
		return 1;
	}
	if (!sign)
		chain_message(argv[1], peer, false, null, sig, body, blen);
	c0 = cpu_ticks(argv[2]) + (peer ? cpu_ticks(peer->pid) : 0);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (i = 0; i < count; i++)
		if (!chain_message(argv[1], peer, sign, null, sig, body, blen))
			bad++;
	clock_gettime(CLOCK_MONOTONIC, &t1);
	c1 = cpu_ticks(argv[2]) + (peer ? cpu_ticks(peer->pid) : 0);
	secs = (double)(t1.tv_sec - t0.tv_sec) +
	       (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	printf("%-6s %6zu B: %8.0f msgs/s, %6.3f ms CPU/msg (milter%s)%s\n",
	    argv[3], blen, (double)count / secs,
	    (double)(c1 - c0) * 1000.0 / (double)sysconf(_SC_CLK_TCK) /
	        (double)count,
	    peer ? "s" : "", bad ? " (some not accepted or not signed!)" : "");
	free(body);
	return bad ? 1 : 0;
}
