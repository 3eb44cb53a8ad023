"""Several processes on one PostgreSQL database (issue 12, item 2).

Two real `fync serve` processes, A and B, on two loopback ports share one database
and one data folder (so one cookie secret), as two workers behind nginx would.
What one process changes, the other must see at once, even where it had cached
the old state: a revoked token, a disabled or deleted app, a withdrawn consent,
a login session ended. One code redeemed through both at once succeeds once.
And two processes on one port: shared on PostgreSQL (SO_REUSEPORT), refused on SQLite.

Those on PostgreSQL run only when FYNC_TEST_DATABASE_URL names a PostgreSQL server.
"""
from __future__ import annotations

import asyncio
import subprocess
import urllib.parse

import asyncpg
import httpx
import pytest

import pg_helpers
from gancio_like.storage.pg import WRITE_LOCK_KEY
from serve_helpers import FYNC, PASSWORD, REDIRECT, Account, FyncServer, RawResponse, basic, clean_env, \
    form, free_port, pkce_pair, raw_request

NEEDS_POSTGRES = "several processes need PostgreSQL: set FYNC_TEST_DATABASE_URL=postgresql://… to run this"

FORM = {"Content-Type": "application/x-www-form-urlencoded"}
SESSION_COOKIE = "fync_session"
ROUNDS = 5
REVOCATION_ROUNDS = 40


def postgres_database():
    """A fresh database (dropped after), or the test is skipped without a PostgreSQL server."""
    if not pg_helpers.SERVER_URL:
        pytest.skip(NEEDS_POSTGRES)
    url = pg_helpers.create_database()
    yield url
    pg_helpers.drop_database(url)


database = pytest.fixture(scope="module")(postgres_database)
fresh_database = pytest.fixture(postgres_database)


@pytest.fixture(scope="module")
def pair(tmp_path_factory, database):
    """(A, B, admin): two processes on one database and one data folder; A starts first
    (it migrates and makes the secret key), and the first account, the admin, signs up."""
    root = tmp_path_factory.mktemp("multiprocess")
    shared = {"FYNC_DATABASE_URL": database, "FYNC_SERVER_DATA_DIR": str(root / "data"),
              "FYNC_SECURITY_LOGIN_FAILURES_PER_MINUTE": 100}
    a = FyncServer(root / "a", **shared)
    # Both answer as one instance, as behind one proxy: one issuer.
    a.env["FYNC_SERVER_PUBLIC_URL"] = a.url
    b = FyncServer(root / "b", **shared, FYNC_SERVER_PUBLIC_URL=a.url)
    a.start()
    b.start()
    admin = Account(a.url, "admin").signup()
    yield a, b, admin
    admin.close()
    for server in (a, b):
        server.stop()
        assert "Traceback" not in server.log, server.log[-3000:]


def on(server: FyncServer, account: Account) -> httpx.Client:
    """The same browser (one cookie jar) talking to another process."""
    return httpx.Client(base_url=server.url, cookies=account.http.cookies.jar, follow_redirects=False, timeout=30)


def bearer(http: httpx.Client, token: str) -> int:
    return http.get("/api/me", headers={"Authorization": f"Bearer {token}"}).status_code


def refresh(http: httpx.Client, client: dict, refresh_token: str) -> dict:
    r = http.post("/oauth/token", headers=basic(client),
                  data={"grant_type": "refresh_token", "refresh_token": refresh_token})
    assert r.status_code == 200, r.text
    return r.json()


def authorize_query(client: dict, scope: str) -> str:
    return "/oauth/authorize?" + urllib.parse.urlencode({
        "response_type": "code", "client_id": client["client_id"], "redirect_uri": REDIRECT, "scope": scope,
        "state": "s", "code_challenge": "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGjSzjuFLk", "code_challenge_method": "S256"})


def gives_code_at_once(http: httpx.Client, client: dict, scope: str = "profile") -> bool:
    """GET /oauth/authorize answers with a code, without asking: the consent is remembered."""
    r = http.get(authorize_query(client, scope))
    return r.status_code in (302, 303) and "code=" in r.headers.get("Location", "")


def code_request(client: dict, code: str, verifier: str) -> bytes:
    return raw_request("POST", "/oauth/token", form({"grant_type": "authorization_code", "code": code,
                                                     "code_verifier": verifier, "redirect_uri": REDIRECT}),
                       {**FORM, **basic(client)})


async def send_together(targets: list[tuple[int, bytes]]) -> list[RawResponse]:
    """Each request on its own connection to its own port; all but the last byte first,
    then the last bytes back to back, so both processes receive them at the same instant."""
    conns = [await asyncio.open_connection("127.0.0.1", port) for port, _ in targets]
    for (_, writer), (_, data) in zip(conns, targets):
        writer.write(data[:-1])
        await writer.drain()
    await asyncio.sleep(0.05)
    for (_, writer), (_, data) in zip(conns, targets):
        writer.write(data[-1:])
    for _, writer in conns:
        await writer.drain()
    replies = await asyncio.gather(*(asyncio.wait_for(reader.read(), 30) for reader, _ in conns))
    for _, writer in conns:
        writer.close()
    return [RawResponse(r) for r in replies]


# -- (a) tokens --------------------------------------------------------------------------------------


def test_a_token_revoked_through_a_is_refused_by_b_at_once(pair):
    """Many rounds: a process that learns of the revocation only "soon" fails some of them."""
    a, b, _ = pair
    alice = Account(a.url, "alice").signup()
    client = alice.register()
    tokens = alice.tokens(client)
    with on(b, alice) as at_b:
        for _ in range(REVOCATION_ROUNDS):
            tokens = refresh(alice.http, client, tokens["refresh_token"])
            access = tokens["access_token"]
            assert bearer(at_b, access) == 200  # B has it cached now
            assert bearer(at_b, access) == 200
            r = alice.http.post("/oauth/revoke", headers=basic(client), data={"token": access})
            assert r.status_code == 200
            assert bearer(at_b, access) == 401
            assert bearer(alice.http, access) == 401
    alice.close()


def test_a_refresh_token_revoked_through_b_ends_the_family_on_a(pair):
    a, b, _ = pair
    alice2 = Account(a.url, "alice2").signup()
    client = alice2.register()
    tokens = alice2.tokens(client)
    assert bearer(alice2.http, tokens["access_token"]) == 200  # A has it cached now
    with on(b, alice2) as at_b:
        r = at_b.post("/oauth/revoke", headers=basic(client), data={"token": tokens["refresh_token"]})
        assert r.status_code == 200
    assert bearer(alice2.http, tokens["access_token"]) == 401
    r = alice2.http.post("/oauth/token", headers=basic(client),
                         data={"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]})
    assert r.status_code == 400 and r.json()["error"] == "invalid_grant"
    alice2.close()


# -- (b) one code, two processes ------------------------------------------------------------------------


@pytest.mark.parametrize("round_", range(ROUNDS))
def test_one_code_redeemed_through_a_and_b_at_once_wins_once(pair, round_):
    a, b, _ = pair
    carol = Account(a.url, f"carol{round_}").signup()
    client = carol.register()
    code, verifier = carol.code(client)
    request = code_request(client, code, verifier)
    replies = asyncio.run(send_together([(a.port, request), (b.port, request)] * 3))
    assert sorted(r.status for r in replies) == [200] + [400] * 5, replies
    assert all(r.json()["error"] == "invalid_grant" for r in replies if r.status == 400)
    winner = next(r.json() for r in replies if r.status == 200)
    # The others were replays: what the code gave is revoked (SPEC §3), in both processes.
    with on(b, carol) as at_b:
        assert bearer(at_b, winner["access_token"]) == 401
    assert bearer(carol.http, winner["access_token"]) == 401
    r = carol.http.post("/oauth/token", headers=basic(client),
                        data={"grant_type": "refresh_token", "refresh_token": winner["refresh_token"]})
    assert r.status_code == 400
    carol.close()


def refresh_request(client: dict, refresh_token: str) -> bytes:
    return raw_request("POST", "/oauth/token", form({"grant_type": "refresh_token", "refresh_token": refresh_token}),
                       {**FORM, **basic(client)})


def family_is_dead(a: FyncServer, b: FyncServer, account: Account, client: dict, winner: dict) -> bool:
    """The winner's tokens refused by both processes: the reuse ended the family."""
    with on(b, account) as at_b:
        at_b_status = bearer(at_b, winner["access_token"])
    r = account.http.post("/oauth/token", headers=basic(client),
                          data={"grant_type": "refresh_token", "refresh_token": winner["refresh_token"]})
    return at_b_status == 401 and bearer(account.http, winner["access_token"]) == 401 and r.status_code == 400


@pytest.mark.parametrize("round_", range(3))
def test_one_code_10_times_through_a_and_10_through_b_wins_once(pair, round_):
    """Row-level single use (no cluster-wide lock on this path): the code row is read
    FOR UPDATE, so of 20 redemptions over two processes one wins and 19 are replays."""
    a, b, _ = pair
    gina = Account(a.url, f"gina{round_}").signup()
    client = gina.register()
    code, verifier = gina.code(client)
    request = code_request(client, code, verifier)
    replies = asyncio.run(send_together([(a.port, request), (b.port, request)] * 10))
    assert sorted(r.status for r in replies) == [200] + [400] * 19, replies
    assert all(r.json()["error"] == "invalid_grant" for r in replies if r.status == 400)
    assert family_is_dead(a, b, gina, client, next(r.json() for r in replies if r.status == 200))
    gina.close()


@pytest.mark.parametrize("round_", range(3))
def test_one_refresh_token_10_times_through_a_and_10_through_b_wins_once(pair, round_):
    """Row-level rotation: `UPDATE … WHERE spent_at IS NULL` lets one request spend the
    token; the 19 others are reuse, which ends the family, the winner's tokens included (SPEC §3)."""
    a, b, _ = pair
    hugo = Account(a.url, f"hugo{round_}").signup()
    client = hugo.register()
    tokens = hugo.tokens(client)
    request = refresh_request(client, tokens["refresh_token"])
    replies = asyncio.run(send_together([(a.port, request), (b.port, request)] * 10))
    assert sorted(r.status for r in replies) == [200] + [400] * 19, replies
    assert all(r.json()["error"] == "invalid_grant" for r in replies if r.status == 400)
    assert family_is_dead(a, b, hugo, client, next(r.json() for r in replies if r.status == 200))
    hugo.close()


def remembered_code(http: httpx.Client, client: dict) -> tuple[str, str]:
    """GET /oauth/authorize with a remembered consent → (code, verifier), no page shown."""
    verifier, challenge = pkce_pair()
    query = urllib.parse.urlencode({"response_type": "code", "client_id": client["client_id"], "redirect_uri": REDIRECT,
                                    "scope": "profile", "code_challenge": challenge, "code_challenge_method": "S256"})
    r = http.get("/oauth/authorize?" + query)
    assert r.status_code in (302, 303), r.text
    return dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(r.headers["Location"]).query))["code"], verifier


async def _hold_write_lock(url: str) -> asyncpg.Connection:
    """Another session holding the lock serialized writes take (storage/pg.py)."""
    conn = await asyncpg.connect(url)
    await conn.execute(f"SELECT pg_advisory_lock({WRITE_LOCK_KEY})")
    return conn


def test_the_hot_oauth_paths_take_no_cluster_wide_lock(pair, database):
    """While another session holds the serialized writers' lock, a remembered-consent
    authorize, a code redemption, a refresh and a revocation still complete, on both
    processes: none of them waits for the cluster-wide lock."""
    a, b, _ = pair
    ivy = Account(a.url, "ivy").signup()
    client = ivy.register()
    ivy.tokens(client)  # the consent page's answer is serialized: done before the lock is taken
    loop = asyncio.new_event_loop()
    holder = loop.run_until_complete(_hold_write_lock(database))
    try:
        for server in (a, b):
            with on(server, ivy) as http:
                http.timeout = httpx.Timeout(5)
                code, verifier = remembered_code(http, client)
                r = http.post("/oauth/token", headers=basic(client), data={
                    "grant_type": "authorization_code", "code": code, "code_verifier": verifier,
                    "redirect_uri": REDIRECT})
                assert r.status_code == 200, r.text
                tokens = refresh(http, client, r.json()["refresh_token"])
                r = http.post("/oauth/revoke", headers=basic(client), data={"token": tokens["refresh_token"]})
                assert r.status_code == 200
                assert bearer(http, tokens["access_token"]) == 401
    finally:
        loop.run_until_complete(holder.close())
        loop.close()
    ivy.close()


# -- (c) apps and consents ------------------------------------------------------------------------------


def test_an_app_disabled_through_a_is_refused_by_b_at_once(pair):
    a, b, admin = pair
    dave = Account(a.url, "dave").signup()
    client = dave.register()
    tokens = dave.tokens(client, "profile")
    with on(b, dave) as at_b:
        assert bearer(at_b, tokens["access_token"]) == 200
        assert gives_code_at_once(at_b, client)  # B has the client and the consent cached
        r = admin.http.post("/admin/clients/disable", data={"_xsrf": admin.xsrf(), "client_id": client["client_id"],
                                                            "confirm": "yes"})
        assert r.status_code == 303, r.text
        assert bearer(at_b, tokens["access_token"]) == 401
        assert not gives_code_at_once(at_b, client)
        r = at_b.post("/oauth/token", headers=basic(client),
                      data={"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]})
        assert r.status_code in (400, 401), r.text
    dave.close()


def test_an_app_deleted_through_b_is_unknown_to_a_at_once(pair):
    a, b, admin = pair
    erin = Account(a.url, "erin").signup()
    client = erin.register()
    tokens = erin.tokens(client, "profile")
    introspect = {"token": tokens["access_token"]}
    assert erin.http.post("/oauth/introspect", headers=basic(client), data=introspect).json()["active"] is True
    with on(b, admin) as admin_at_b:
        r = admin_at_b.post("/admin/clients/delete", data={"_xsrf": admin.xsrf(), "client_id": client["client_id"],
                                                           "confirm": "yes"})
        assert r.status_code == 303, r.text
    assert erin.http.post("/oauth/introspect", headers=basic(client), data=introspect).status_code == 401
    assert bearer(erin.http, tokens["access_token"]) == 401
    erin.close()


def test_a_consent_withdrawn_through_a_is_asked_again_by_b(pair):
    a, b, _ = pair
    frank = Account(a.url, "frank").signup()
    client = frank.register()
    tokens = frank.tokens(client, "profile")
    with on(b, frank) as at_b:
        assert gives_code_at_once(at_b, client)
        assert bearer(at_b, tokens["access_token"]) == 200
        r = frank.http.post("/settings/apps/revoke", data={"_xsrf": frank.xsrf(), "client_id": client["client_id"],
                                                           "confirm": "yes"})
        assert r.status_code == 303, r.text
        assert bearer(at_b, tokens["access_token"]) == 401
        r = at_b.get(authorize_query(client, "profile"))
        assert r.status_code == 200 and 'name="decision"' in r.text  # the consent page again
    frank.close()


# -- (d) login sessions ---------------------------------------------------------------------------------


def test_a_login_session_from_a_works_on_b_and_logging_out_on_a_ends_it_there(pair):
    a, b, _ = pair
    grace = Account(a.url, "grace").signup()
    with on(b, grace) as at_b:
        assert at_b.get("/settings").status_code == 200  # logged in on B too (and cached there)
        session = grace.http.cookies[SESSION_COOKIE]
        r = grace.http.post("/logout", data={"_xsrf": grace.xsrf()})
        assert r.status_code == 303
    # The browser forgot the cookie; someone who copied it must not get in either.
    with httpx.Client(base_url=b.url, follow_redirects=False, timeout=30) as thief:
        r = thief.get("/settings", headers={"Cookie": f"{SESSION_COOKIE}={session}"})
        assert r.status_code == 302 and r.headers["Location"].startswith("/login")
    grace.close()


def test_a_login_on_b_works_on_a(pair):
    a, b, _ = pair
    Account(a.url, "heidi").signup().close()
    heidi = Account(b.url, "heidi")
    r = heidi.http.post("/login", data={"_xsrf": heidi.xsrf(), "username": "heidi", "password": PASSWORD})
    assert r.status_code in (302, 303), r.text
    with on(a, heidi) as at_a:
        assert at_a.get("/settings").status_code == 200
    heidi.close()


# -- (e) several processes on one port ---------------------------------------------------------------


def test_two_processes_share_one_port_on_postgresql(tmp_path, fresh_database):
    """SO_REUSEPORT, as N systemd units of fync@.service on one port (docs/deploy.md): both
    serve, the kernel spreads new connections over them, and each stops on SIGTERM with 0."""
    shared = {"FYNC_DATABASE_URL": fresh_database, "FYNC_SERVER_DATA_DIR": str(tmp_path / "data")}
    a = FyncServer(tmp_path / "a", **shared)
    b = FyncServer(tmp_path / "b", **shared)
    b.port = a.port
    try:
        a.start()
        b.start()
        for _ in range(30):  # each on a new connection
            assert httpx.get(a.url + "/health", timeout=10).status_code == 200
        assert "path=/health" in a.log and "path=/health" in b.log
        assert a.terminate() == 0 and b.terminate() == 0
        assert "Traceback" not in a.log + b.log
    finally:
        a.stop()
        b.stop()


def test_a_second_process_on_the_port_of_an_sqlite_instance_is_refused(tmp_path):
    """SQLite binds without SO_REUSEPORT: its caches and its one writer live in one process,
    so a second `fync serve` of the same instance on its port stops with one line, and the
    first serves on alone."""
    data = str(tmp_path / "data")
    first = FyncServer(tmp_path / "first", FYNC_SERVER_DATA_DIR=data).start()
    try:
        second = subprocess.run([FYNC, "serve", "--port", str(first.port)], capture_output=True, text=True,
                                timeout=30, cwd=tmp_path, env=clean_env(FYNC_SERVER_DATA_DIR=data))
        assert second.returncode == 1
        lines = second.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith(f"fync: error: cannot listen on 127.0.0.1:{first.port}")
        assert "plugins:" not in second.stdout
        assert httpx.get(first.url + "/health", timeout=10).status_code == 200
    finally:
        first.stop()


@pytest.mark.parametrize("how", [["--workers", "2"], []])
def test_serve_workers_is_gone_saying_what_to_do_instead(tmp_path, how):
    """The supervisor's flag, key and variable are refused with the way to run several processes."""
    env = clean_env() if how else clean_env(FYNC_SERVER_WORKERS="2")
    proc = subprocess.run([FYNC, "serve", "--port", str(free_port()), *how], capture_output=True, text=True,
                          timeout=30, cwd=tmp_path, env=env)
    assert proc.returncode == 1
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("fync: error: [server] workers = 2: "), lines
    assert "fync@PORT.service" in lines[0] and "docs/deploy.md" in lines[0]
    assert proc.stdout == "" and not (tmp_path / "data").exists()
