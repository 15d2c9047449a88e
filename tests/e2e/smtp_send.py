#!/usr/bin/python3
# smtp_send.py PORT SOURCE_IP FROM RCPT FILE -- send FILE over SMTP to
# 127.0.0.1:PORT from SOURCE_IP (a loopback address: 127.0.0.5 is an
# external client for the tests). Prints the final reply code and exits
# 0 on 250, 5 on a 5xx, 4 on a 4xx, 1 otherwise.
import smtplib
import sys

port, src, sender, rcpt, path = sys.argv[1:6]
with open(path, "rb") as f:
    data = f.read()
try:
    s = smtplib.SMTP("127.0.0.1", int(port), source_address=(src, 0),
                     timeout=60)
    s.ehlo("client.example")
    s.sendmail(sender, [rcpt], data)
    s.quit()
    print("250")
    sys.exit(0)
except smtplib.SMTPResponseException as e:
    print(e.smtp_code, e.smtp_error.decode(errors="replace"))
    sys.exit(e.smtp_code // 100)
except (smtplib.SMTPException, OSError) as e:
    print("error", e)
    sys.exit(1)
