#!/usr/bin/env python3
"""Pick an instance, log in, list your friends: a third-party app in ~40 lines on
`gancio_like.client` (SPEC §5 and §8).

    python examples/pick_instance.py                 # asks for the instance
    python examples/pick_instance.py @you@example.org

The person types a domain (`example.org`) or a handle (`@you@example.org`); the
app discovers the instance, registers itself there once (kept with the tokens in
~/.config/fync-pick-instance/credentials.json), logs the person in through their
browser and calls `GET /api/friends` with the `friends:read` scope. The next run
reuses the stored login, renewing the token when it has expired.
"""
import asyncio
import sys

from gancio_like.client import App, ClientError, CredentialStore, NotLoggedIn, default_path, discover

SCOPE = "friends:read"


def show_url(url: str) -> None:
    print(f"\nOpen this URL in your browser and allow access:\n\n  {url}\n\nWaiting...", flush=True)


async def logged_in(app: App, target: str):
    """The stored login for this instance if it has the scope; else a new login."""
    instance = await discover(target)
    try:
        session = app.session(instance.domain)
        if SCOPE in session.tokens.scopes():
            return session
    except NotLoggedIn:
        pass
    return await app.login(instance, scope=SCOPE, on_url=show_url)


async def main() -> int:
    target = sys.argv[1] if len(sys.argv) > 1 else input("Your Fync instance or handle (e.g. @you@example.org): ")
    app = App("Pick-an-instance example", CredentialStore(default_path("fync-pick-instance")))
    try:
        session = await logged_in(app, target)
        friends = await session.get("/api/friends")
    except ClientError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    items = friends.get("items", []) if isinstance(friends, dict) else []
    print(f"{len(items)} friend(s) on {session.domain}:")
    for friend in items:
        print(f"  {friend.get('acct')}  (friends since {friend.get('since')})")
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
