"""`fync login`, `whoami`, `logout` (SPEC §8): the client side, which needs no server config.
The work is the client library's (`gancio_like.client`); here are the terminal's words for it."""
from __future__ import annotations

import functools
import json
import os
import sys
import webbrowser
from argparse import ArgumentParser

from ..client import App, ClientError, CredentialStore, LoginExpired, NotLoggedIn, default_path
from . import CommandError, version_arg


def login_parser(p: ArgumentParser) -> None:
    p.description = ("Log in to a Fync instance: opens (or prints) a browser URL and waits for the answer "
                     "on a loopback port (RFC 8252). FYNC_NO_BROWSER=1 only prints it.")
    version_arg(p)
    p.add_argument("domain", metavar="DOMAIN", help="example.org, https://example.org/ or @you@example.org")
    p.add_argument("--scope", default="profile", metavar="S", help="space-separated scopes (default: profile)")
    p.add_argument("--timeout", type=float, default=300, metavar="SECONDS",
                   help="how long to wait for the browser (default: 300)")
    p.set_defaults(run=login)


def client_errors(command):
    """Library errors → one-line CommandErrors; an ended login says how to start again."""
    @functools.wraps(command)
    async def run(cfg, args) -> int:
        try:
            return await command(cfg, args)
        except (NotLoggedIn, LoginExpired) as exc:
            raise CommandError(f"{exc}; run: fync login {args.domain}") from None
        except ClientError as exc:
            raise CommandError(str(exc)) from None
    return run


def terminal_app() -> App:
    return App("Fync command line", CredentialStore(default_path()))


@client_errors
async def login(cfg: None, args) -> int:
    if args.timeout <= 0:
        raise CommandError("--timeout must be a positive number of seconds")
    app = terminal_app()
    session = await app.login(args.domain, args.scope, on_url=show_login_url, timeout=args.timeout)
    user = app.user(session.domain)
    who = f" as {user['username']}" if user else f" (scope: {session.tokens.scope}; no profile scope to show who)"
    print(f"logged in to {session.domain}{who}")
    return 0


def show_login_url(url: str) -> None:
    print(f"Open this URL in your browser to log in:\n\n  {url}\n", flush=True)
    if browser_available():
        webbrowser.open(url)
    print("Waiting for the browser... (Ctrl-C to stop)", flush=True)


def browser_available(env=None) -> bool:
    """Open a browser only for a person at a desktop: not in CI or tests, not when told not to,
    and on X11/Wayland systems only with a display (else `webbrowser` may start a text browser)."""
    env = os.environ if env is None else env
    if env.get("FYNC_NO_BROWSER", "") not in ("", "0") or env.get("CI") or env.get("PYTEST_CURRENT_TEST"):
        return False
    if sys.platform in ("darwin", "win32"):
        return True
    return bool(env.get("DISPLAY") or env.get("WAYLAND_DISPLAY"))


def whoami_parser(p: ArgumentParser) -> None:
    p.description = "Print /api/me at an instance you logged in to."
    version_arg(p)
    p.add_argument("domain", metavar="DOMAIN")
    p.set_defaults(run=whoami)


@client_errors
async def whoami(cfg: None, args) -> int:
    me = await terminal_app().session(args.domain).get("/api/me")
    print(json.dumps(me, indent=2, ensure_ascii=False))
    return 0


def logout_parser(p: ArgumentParser) -> None:
    p.description = "Revoke this terminal's login at an instance and forget it."
    version_arg(p)
    p.add_argument("domain", metavar="DOMAIN")
    p.set_defaults(run=logout)


@client_errors
async def logout(cfg: None, args) -> int:
    domain = await terminal_app().logout(args.domain)
    print(f"logged out of {domain}")
    return 0


PARSERS = {"login": login_parser, "whoami": whoami_parser, "logout": logout_parser}
