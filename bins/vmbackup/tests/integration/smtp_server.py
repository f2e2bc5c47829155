"""A real SMTP server for the e-mail test: aiosmtpd with STARTTLS required and AUTH
(PLAIN and LOGIN) checked against one user and password. Each delivered message is saved
as <outdir>/<n>.json with its envelope, the AUTH mechanism used and whether TLS was on.

Usage: smtp_server.py CERT_PEM KEY_PEM OUTDIR USER PASSWORD [EXCLUDED_MECHANISM...]
Prints the listening port on the first line, then serves for at most 120 seconds.
"""

import asyncio
import json
import logging
import os
import ssl
import sys
import warnings

from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword

# aiosmtpd's own deprecation notices, as warnings and as log records.
warnings.simplefilter("ignore")
logging.getLogger("mail.log").setLevel(logging.ERROR)
cert, key, outdir, user, password = sys.argv[1:6]
excluded = sys.argv[6:]


def authenticator(server, session, envelope, mechanism, auth_data):
    ok = (
        isinstance(auth_data, LoginPassword)
        and auth_data.login == user.encode()
        and auth_data.password == password.encode()
    )
    if ok:
        session.vmtoolkit_mechanism = mechanism
    # handled=False: the server answers 535 itself on failure.
    return AuthResult(success=ok, handled=False, auth_data=auth_data)


class Handler:
    async def handle_DATA(self, server, session, envelope):
        number = len(os.listdir(outdir))
        record = {
            "mail_from": envelope.mail_from,
            "rcpt_tos": envelope.rcpt_tos,
            "mechanism": getattr(session, "vmtoolkit_mechanism", None),
            "tls": session.ssl is not None,
            "data": envelope.content.decode("utf-8", "replace"),
        }
        with open(os.path.join(outdir, f"{number}.json"), "w") as out:
            json.dump(record, out)
        return "250 OK"


async def main():
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        lambda: SMTP(
            Handler(),
            hostname="localhost",
            tls_context=context,
            require_starttls=True,
            authenticator=authenticator,
            auth_require_tls=True,
            auth_exclude_mechanism=excluded,
        ),
        "127.0.0.1",
        0,
    )
    print(server.sockets[0].getsockname()[1], flush=True)
    await asyncio.sleep(120)


asyncio.run(main())
