"""What several processes on one PostgreSQL database get wrong without the machinery that
keeps them coherent (issue 17 step 7). Two measures, each over N rounds:

  revocations  two `fync serve` (A, B) as behind nginx; per round: a token is cached on B,
               revoked through A, then used on B at once → how many times B still accepts it
               (what the cache barrier in storage/pg.py is for);
  reveals      two `fync serve` on one port, every request on a new connection (as nginx's
               upstream may send them); per round: "new secret" on the developer portal, then
               the page its POST redirects to → how many secrets that page fails to show
               (what the sealed show-once table, storage/reveals.py, is for).

Run it against a checkout with and without the machinery (`--fync` names the `fync` to
start, by default this checkout's), e.g.
    .venv/bin/python bench/cross_process.py revocations --rounds 300 postgresql://postgres@127.0.0.1:5432/postgres
The server's URL is used to make a fresh database `fync_cross_process` for each run.
"""
from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
from pathlib import Path

import asyncpg
import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
import serve_helpers  # noqa: E402
from serve_helpers import Account, FyncServer, basic  # noqa: E402

DATABASE = "fync_cross_process"


async def _admin(url: str, *statements: str) -> None:
    conn = await asyncpg.connect(url)
    try:
        for statement in statements:
            await conn.execute(statement)
    finally:
        await conn.close()


def fresh_database(server_url: str) -> str:
    asyncio.run(_admin(server_url, f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)", f"CREATE DATABASE {DATABASE}"))
    return server_url.rsplit("/", 1)[0] + "/" + DATABASE


def bearer(http: httpx.Client, token: str) -> int:
    return http.get("/api/me", headers={"Authorization": f"Bearer {token}"}).status_code


def revocations(url: str, rounds: int, root: Path) -> str:
    shared = {"FYNC_DATABASE_URL": url, "FYNC_SERVER_DATA_DIR": str(root / "data")}
    a = FyncServer(root / "a", **shared)
    a.env["FYNC_SERVER_PUBLIC_URL"] = a.url
    b = FyncServer(root / "b", **shared, FYNC_SERVER_PUBLIC_URL=a.url)
    a.start()
    b.start()
    try:
        alice = Account(a.url, "alice").signup()
        client = alice.register()
        tokens = alice.tokens(client)
        stale = 0
        with httpx.Client(base_url=b.url, timeout=30) as at_b:
            for _ in range(rounds):
                tokens = alice.http.post("/oauth/token", headers=basic(client), data={
                    "grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]}).json()
                access = tokens["access_token"]
                assert bearer(at_b, access) == 200  # cached on B now
                assert alice.http.post("/oauth/revoke", headers=basic(client), data={"token": access}).status_code == 200
                stale += bearer(at_b, access) == 200
        return f"revoked through A, still accepted by B at once: {stale} of {rounds}"
    finally:
        a.stop()
        b.stop()


def reveals(url: str, rounds: int, root: Path) -> str:
    shared = {"FYNC_DATABASE_URL": url, "FYNC_SERVER_DATA_DIR": str(root / "data")}
    server = FyncServer(root / "a", **shared)
    server.env["FYNC_SERVER_PUBLIC_URL"] = server.url
    other = FyncServer(root / "b", **shared, FYNC_SERVER_PUBLIC_URL=server.url)
    other.port = server.port  # one port, SO_REUSEPORT: the kernel picks a process per connection
    server.start()
    other.start()
    try:
        owner = Account(server.url, "owner").signup()
        cookies = owner.http.cookies
        form = {"_xsrf": owner.xsrf(), "name": "Reveal bench", "description": "", "website": "",
                "redirect_uris": "https://app.example/cb", "scope": "profile", "client_type": "confidential"}
        page = _once(server, cookies, "POST", "/dev/new", data=form).headers["Location"]
        lost = 0
        for _ in range(rounds):
            posted = _once(server, cookies, "POST", page + "/secret", data={"_xsrf": form["_xsrf"]})
            assert posted.status_code == 303, posted.text
            shown = _once(server, cookies, "GET", posted.headers["Location"])
            lost += 'id="client-secret"' not in shown.text
        return f"new secrets not shown on the page the POST redirects to: {lost} of {rounds}"
    finally:
        server.stop()
        other.stop()


def _once(server: FyncServer, cookies, method: str, path: str, **kwargs) -> httpx.Response:
    """One request on a connection of its own, so either process may take it."""
    with httpx.Client(base_url=server.url, cookies=cookies, timeout=30) as http:
        return http.request(method, path, **kwargs)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("measure", choices=["revocations", "reveals"])
    p.add_argument("server_url", help="a PostgreSQL URL whose user may create databases")
    p.add_argument("--rounds", type=int, default=300)
    p.add_argument("--fync", default=str(ROOT / ".venv" / "bin" / "fync"))
    args = p.parse_args()
    serve_helpers.FYNC = args.fync
    url = fresh_database(args.server_url)
    with tempfile.TemporaryDirectory() as tmp:
        print(globals()[args.measure](url, args.rounds, Path(tmp)))


if __name__ == "__main__":
    main()
