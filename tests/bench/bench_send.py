#!/usr/bin/python3
"""bench_send.py -- send one message file COUNT times to an SMTP server
over SESSIONS parallel connections (smtp-source sends generated unsigned
text only; the verify curves need signed messages, sizes and signature
counts of our choosing).

    bench_send.py HOST:PORT FILE COUNT SESSIONS SENDER

Each session sends its share of the messages on one connection (RSET
between them), as smtp-source -s does. Prints nothing on success; exits
1 with the first SMTP error. A benchmark helper: asserts nothing.
"""
import smtplib
import sys
import threading


def session(host, port, data, n, sender, errors):
    try:
        with smtplib.SMTP(host, port, local_hostname="bench") as s:
            for _ in range(n):
                s.sendmail(sender, ["rcpt@example.net"], data)
    except (smtplib.SMTPException, OSError) as e:
        errors.append(str(e))


def main():
    if len(sys.argv) != 6:
        sys.exit(__doc__.strip().splitlines()[3].strip())
    host, port = sys.argv[1].rsplit(":", 1)
    with open(sys.argv[2], "rb") as f:
        data = f.read()
    count, sessions = int(sys.argv[3]), int(sys.argv[4])
    errors = []
    threads = []
    for i in range(sessions):
        n = count // sessions + (1 if i < count % sessions else 0)
        t = threading.Thread(target=session,
                             args=(host, int(port), data, n, sys.argv[5],
                                   errors))
        t.start()
        threads.append(t)
    for t in threads:
        t.join()
    if errors:
        sys.exit("bench_send.py: " + errors[0])


main()
