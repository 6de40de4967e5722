#!/usr/bin/env python3
"""mycli: a small CLI that logs in with termauth, as a user of the package would write it.

    python examples/python/mycli.py --issuer https://login.example.com --client-id mycli login --device
    python examples/python/mycli.py --issuer ... --client-id mycli token      # prints a fresh token
    python examples/python/mycli.py --issuer ... --client-id mycli status
    python examples/python/mycli.py --issuer ... --client-id mycli logout

The client secret for ``--client-credentials`` comes from MYCLI_CLIENT_SECRET, never argv.
Every sentence printed is termauth's (the same words as every other termauth CLI); exit
codes are ``termauth.exit_code``: 3 log in again, 4 retry later, 5 fix configuration,
6 other, 130 cancelled (2 for a bad command line, from argparse).
"""

from __future__ import annotations

import argparse
import json
import os
import sys

import termauth


def main(argv: "list[str] | None" = None) -> int:
    p = argparse.ArgumentParser(prog="mycli", description="A demo CLI over termauth.")
    p.add_argument("--issuer", default=os.environ.get("MYCLI_ISSUER"), required="MYCLI_ISSUER" not in os.environ)
    p.add_argument("--client-id", default=os.environ.get("MYCLI_CLIENT_ID", "mycli"))
    p.add_argument("--scope", default="openid offline_access")
    p.add_argument("--profile")
    sub = p.add_subparsers(dest="command", required=True)
    login = sub.add_parser("login", help="log in and store the credential")
    m = login.add_mutually_exclusive_group()
    for flag in ("device", "browser", "paste", "client-credentials"):
        m.add_argument(f"--{flag}", dest="method", action="store_const", const=flag.replace("-", "_"))
    m.add_argument("--with-token", dest="method", action="store_const", const="token",
                   help="store an API key read from stdin")
    sub.add_parser("token", help="print a valid access token")
    sub.add_parser("refresh", help="renew the token now")
    sub.add_parser("status", help="where the token comes from, and its state")
    sub.add_parser("logout", help="revoke, then forget")
    sub.add_parser("profiles", help="list the stored profiles")
    args = p.parse_args(argv)

    auth = termauth.Client(app="mycli", issuer=args.issuer, client_id=args.client_id, scope=args.scope,
                           profile=args.profile)
    try:
        if args.command == "login":
            method = args.method or "auto"
            token = sys.stdin.readline().strip() if method == "token" else None
            print(auth.login(method, token=token).text, file=sys.stderr)
        elif args.command == "token":
            print(auth.get_token())
        elif args.command == "refresh":
            print(auth.refresh().text, file=sys.stderr)
        elif args.command == "status":
            status = auth.status()
            print(json.dumps(status.to_dict(), indent=2))
            if status.problem is not None:  # exit 3 when a login is needed, for scripts
                raise status.problem
        elif args.command == "logout":
            print(auth.logout().text, file=sys.stderr)
        elif args.command == "profiles":
            for prof in auth.profiles():
                print(("* " if prof.active else "  ") + prof.name)
        return 0
    except termauth.Error as e:
        print(f"mycli: {e.message}", file=sys.stderr)
        return termauth.exit_code(e)


if __name__ == "__main__":
    sys.exit(main())
