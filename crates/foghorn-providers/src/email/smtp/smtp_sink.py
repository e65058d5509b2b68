#!/usr/bin/env python3
"""A real SMTP server for the SMTP provider's tests (aiosmtpd).

Usage: smtp_sink.py PORT DIR [USER PASSWORD]

Listens on 127.0.0.1:PORT and writes every accepted message to DIR as
N.eml (the DATA exactly as received) and N.json (the envelope: mail_from,
rcpt_tos, and the login when authenticated). With USER and PASSWORD it
offers AUTH PLAIN/LOGIN over plain text (loopback only) and requires it.

Recipients whose local part starts with "reject-perm" get a 550 and those
starting with "reject-temp" a 451, so tests can exercise both reply classes.
Prints "ready" on stdout once it accepts connections; runs until killed.
"""

import json
import os
import sys
import threading

try:
    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import AuthResult, LoginPassword
except ImportError:
    sys.stderr.write("aiosmtpd is not installed: run `pip install aiosmtpd`\n")
    sys.exit(3)


class Sink:
    def __init__(self, directory):
        self.directory = directory
        self.count = 0
        self.lock = threading.Lock()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        local = address.split("@", 1)[0]
        if local.startswith("reject-perm"):
            return "550 5.1.1 <%s>: Recipient address rejected: User unknown" % address
        if local.startswith("reject-temp"):
            return "451 4.3.0 <%s>: Temporary failure, try again later" % address
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            self.count += 1
            n = self.count
        login = session.auth_data.login.decode() if isinstance(session.auth_data, LoginPassword) else None
        base = os.path.join(self.directory, str(n))
        with open(base + ".eml", "wb") as f:
            f.write(envelope.original_content)
        meta = {"mail_from": envelope.mail_from, "rcpt_tos": envelope.rcpt_tos, "login": login}
        # Written last and renamed into place, so a reader never sees half.
        with open(base + ".json.tmp", "w") as f:
            json.dump(meta, f)
        os.rename(base + ".json.tmp", base + ".json")
        return "250 2.0.0 Ok: queued as %d" % n


def authenticator(user, password):
    def check(server, session, envelope, mechanism, auth_data):
        ok = (
            isinstance(auth_data, LoginPassword)
            and auth_data.login == user.encode()
            and auth_data.password == password.encode()
        )
        # handled=False: aiosmtpd itself answers 535 on failure.
        return AuthResult(success=ok, handled=False, auth_data=auth_data if ok else None)

    return check


def main():
    port, directory = int(sys.argv[1]), sys.argv[2]
    kwargs = {}
    if len(sys.argv) == 5:
        kwargs = {
            "authenticator": authenticator(sys.argv[3], sys.argv[4]),
            "auth_required": True,
            "auth_require_tls": False,
        }
    controller = Controller(Sink(directory), hostname="127.0.0.1", port=port, **kwargs)
    controller.start()
    print("ready", flush=True)
    threading.Event().wait()


if __name__ == "__main__":
    main()
