#!/usr/bin/python3
# dns_fault_proxy.py -- a UDP DNS proxy on loopback for tests: it forwards
# queries to a real server (nsd from dns-server.sh) and makes the faults a
# zone file cannot: a server that is gone for a while, one that loses the
# first queries, one that is slow for one name, one that fails for one.
#
#   dns_fault_proxy.py --upstream PORT --port-file FILE [--log FILE]
#       [--drop-seconds N] [--drop-first N] [--delay NAME=SECONDS]...
#       [--servfail NAME]...
#
#   --upstream PORT      the real server, 127.0.0.1@PORT
#   --port-file FILE     the proxy binds a free port of 127.0.0.1 and
#                        writes its number here once it listens
#   --log FILE           one line per query: "drop", "forward" or
#                        "delay" with the name and type, and "answering"
#                        when the --drop-seconds window ends
#   --drop-seconds N     no answer to any query for N seconds from start
#   --drop-first N       no answer to the first N queries
#   --delay NAME=SECS    answer queries for NAME (any type, case ignored)
#                        SECS seconds late; the others are not held up
#   --servfail NAME      answer queries for NAME (any type, case ignored)
#                        with SERVFAIL (RCODE 2) at once
#
# UDP only: the test answers are small. Stops on SIGTERM.
# Needs Debian's python3-dnspython (run with /usr/bin/python3).
import argparse
import os
import signal
import socket
import sys
import threading
import time

import dns.message
import dns.rcode
import dns.rdatatype


def parse_args():
    p = argparse.ArgumentParser()
    p.add_argument("--upstream", type=int, required=True)
    p.add_argument("--port-file", required=True)
    p.add_argument("--log")
    p.add_argument("--drop-seconds", type=float, default=0)
    p.add_argument("--drop-first", type=int, default=0)
    p.add_argument("--delay", action="append", default=[])
    p.add_argument("--servfail", action="append", default=[])
    a = p.parse_args()
    a.servfail = {n.lower().rstrip(".") for n in a.servfail}
    delays = {}
    for d in a.delay:
        name, _, secs = d.rpartition("=")
        if not name:
            p.error("--delay wants NAME=SECONDS")
        delays[name.lower().rstrip(".")] = float(secs)
    a.delays = delays
    return a


class Proxy:
    def __init__(self, args):
        self.args = args
        self.lock = threading.Lock()
        self.seen = 0
        self.start = time.monotonic()
        self.logf = open(args.log, "a", buffering=1) if args.log else None
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))

    def log(self, what):
        if self.logf:
            with self.lock:
                self.logf.write("%.3f %s\n" %
                                (time.monotonic() - self.start, what))

    def question(self, wire):
        try:
            q = dns.message.from_wire(wire).question[0]
            return (q.name.to_text(omit_final_dot=True).lower(),
                    dns.rdatatype.to_text(q.rdtype))
        except Exception:
            return ("?", "?")

    def dropped(self):
        with self.lock:
            self.seen += 1
            first = self.seen <= self.args.drop_first
        in_window = time.monotonic() - self.start < self.args.drop_seconds
        return first or in_window

    def end_window(self):
        self.log("answering")

    def forward(self, wire, client, delay):
        if delay > 0:
            time.sleep(delay)
        up = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        up.settimeout(5)
        try:
            up.sendto(wire, ("127.0.0.1", self.args.upstream))
            reply, _ = up.recvfrom(65535)
            self.sock.sendto(reply, client)
        except OSError as e:
            self.log("upstream error %s" % e)
        finally:
            up.close()

    def servfail(self, wire, client):
        reply = dns.message.make_response(dns.message.from_wire(wire))
        reply.set_rcode(dns.rcode.SERVFAIL)
        self.sock.sendto(reply.to_wire(), client)

    def serve(self):
        while True:
            wire, client = self.sock.recvfrom(65535)
            name, rtype = self.question(wire)
            if self.dropped():
                self.log("drop %s %s" % (name, rtype))
                continue
            if name in self.args.servfail:
                self.log("servfail %s %s" % (name, rtype))
                self.servfail(wire, client)
                continue
            delay = self.args.delays.get(name, 0)
            self.log("%s %s %s" % ("delay" if delay else "forward", name,
                                   rtype))
            threading.Thread(target=self.forward, daemon=True,
                             args=(wire, client, delay)).start()


def main():
    args = parse_args()
    proxy = Proxy(args)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    tmp = args.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write("%d\n" % proxy.sock.getsockname()[1])
    # rename: a reader never sees a half-written number
    os.rename(tmp, args.port_file)
    if args.drop_seconds > 0:
        t = threading.Timer(args.drop_seconds, proxy.end_window)
        t.daemon = True
        t.start()
    proxy.serve()


if __name__ == "__main__":
    main()
