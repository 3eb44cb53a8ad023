"""Races (SECURITY-CHECKLIST (b); issue 10 item 2), against `fync serve` as a process.

Each race opens one connection per request, sends every request but its last byte,
then all the last bytes back to back, so the server receives them as nearly at once
as it can (tests/test_oauth_token.py has the in-process variants with 10 requests).

- a code redeemed 20 times at once: exactly one 200; the rest were replays, so the
  winner's tokens end revoked; redemptions with a wrong verifier are no replays;
- a refresh token used 20 times at once: exactly one 200, and the reuse ends the
  family, the winner's new tokens included; a refresh racing a revocation of the
  same token leaves nothing of the family alive, whichever won;
- one consent form submitted 10 times at once: one code;
- a friend request accepted, declined and cancelled at once: one outcome.
"""
from __future__ import annotations

import asyncio
import re
import urllib.parse

import pytest

from serve_helpers import Account, FyncServer, basic, form, raw_request, send_together

FORM = {"Content-Type": "application/x-www-form-urlencoded"}
ROUNDS = 3


@pytest.fixture(scope="module")
def instance(tmp_path_factory):
    server = FyncServer(tmp_path_factory.mktemp("races"), FYNC_SECURITY_LOGIN_FAILURES_PER_MINUTE=100).start()
    alice = Account(server.url, "alice").signup()
    server.alice, server.client = alice, alice.register()
    yield server
    alice.close()
    server.stop()
    assert server.integrity() == ("ok", [])
    assert "Traceback" not in server.log, server.log[-3000:]


def together(server: FyncServer, requests: list[bytes]):
    return asyncio.run(send_together(server.port, requests))


def token_request(client: dict, params: dict) -> bytes:
    return raw_request("POST", "/oauth/token", form(params), {**FORM, **basic(client)})


def code_request(client: dict, code: str, verifier: str) -> bytes:
    return token_request(client, {"grant_type": "authorization_code", "code": code, "code_verifier": verifier,
                                  "redirect_uri": "https://app.example/cb"})


def refresh_request(client: dict, refresh_token: str) -> bytes:
    return token_request(client, {"grant_type": "refresh_token", "refresh_token": refresh_token})


def me(server: FyncServer, access_token: str) -> int:
    return server.alice.http.get("/api/me", headers={"Authorization": f"Bearer {access_token}"}).status_code


def refresh_status(server: FyncServer, refresh_token: str) -> int:
    r = server.alice.http.post("/oauth/token", headers=basic(server.client),
                               data={"grant_type": "refresh_token", "refresh_token": refresh_token})
    return r.status_code


def outcome(replies) -> tuple[list, list]:
    won = [r for r in replies if r.status == 200]
    lost = [r for r in replies if r.status != 200]
    return won, lost


@pytest.mark.parametrize("round_", range(ROUNDS))
def test_a_code_redeemed_20_times_at_once_wins_once(instance, round_):
    code, verifier = instance.alice.code(instance.client)
    won, lost = outcome(together(instance, [code_request(instance.client, code, verifier)] * 20))
    assert len(won) == 1, won + lost
    assert all(r.status == 400 and r.json()["error"] == "invalid_grant" for r in lost), lost
    # The 19 others were replays of a used code: what it issued is revoked (RFC 6749 §4.1.2).
    assert me(instance, won[0].json()["access_token"]) == 401
    assert refresh_status(instance, won[0].json()["refresh_token"]) == 400


def test_wrong_verifiers_racing_the_right_one_revoke_nothing(instance):
    code, verifier = instance.alice.code(instance.client)
    wrong = [code_request(instance.client, code, verifier[:-4] + f"{i:04d}") for i in range(9)]
    replies = together(instance, wrong[:5] + [code_request(instance.client, code, verifier)] + wrong[5:])
    won, lost = outcome(replies)
    assert len(won) == 1 and replies[5].status == 200, replies
    assert all(r.status == 400 and r.json()["error"] == "invalid_grant" for r in lost), lost
    assert me(instance, won[0].json()["access_token"]) == 200  # a wrong verifier proves no leak


@pytest.mark.parametrize("round_", range(ROUNDS))
def test_a_refresh_token_used_20_times_at_once_wins_once_and_ends_the_family(instance, round_):
    first = instance.alice.tokens(instance.client)
    won, lost = outcome(together(instance, [refresh_request(instance.client, first["refresh_token"])] * 20))
    assert len(won) == 1, won + lost
    assert all(r.status == 400 and r.json()["error"] == "invalid_grant" for r in lost), lost
    # Strict rotation (SPEC §3): the losers reused a spent token, so the whole family ends.
    new = won[0].json()
    assert me(instance, new["access_token"]) == 401
    assert me(instance, first["access_token"]) == 401
    assert refresh_status(instance, new["refresh_token"]) == 400


@pytest.mark.parametrize("round_", range(5))
def test_a_refresh_racing_a_revocation_leaves_nothing_alive(instance, round_):
    first = instance.alice.tokens(instance.client)
    revoke = raw_request("POST", "/oauth/revoke", form({"token": first["refresh_token"]}),
                         {**FORM, **basic(instance.client)})
    refreshed, revoked = together(instance, [refresh_request(instance.client, first["refresh_token"]), revoke])
    assert revoked.status == 200, revoked
    assert refreshed.status in (200, 400), refreshed
    alive = [first["access_token"]] + ([refreshed.json()["access_token"]] if refreshed.status == 200 else [])
    assert [me(instance, token) for token in alive] == [401] * len(alive)
    if refreshed.status == 200:  # the refresh came first: revoking its parent still ends the family
        assert refresh_status(instance, refreshed.json()["refresh_token"]) == 400


def test_one_consent_form_submitted_10_times_at_once_gives_one_code(instance):
    alice = instance.alice
    query = urllib.parse.urlencode({"response_type": "code", "client_id": instance.client["client_id"],
                                    "redirect_uri": "https://app.example/cb", "scope": "profile",
                                    "prompt": "consent", "state": "s"})
    page = alice.http.get("/oauth/authorize?" + query)
    request_id = re.search(r'name="request_id" value="([^"]+)"', page.text).group(1)
    cookies = "; ".join(f"{k}={v}" for k, v in alice.http.cookies.items())
    body = form([("_xsrf", alice.xsrf()), ("request_id", request_id), ("decision", "allow"), ("scope", "profile")])
    replies = together(instance, [raw_request("POST", "/oauth/authorize", body, {**FORM, "Cookie": cookies})] * 10)
    codes = [r for r in replies if "code=" in r.headers.get("location", "")]
    assert len(codes) == 1, replies
    assert all(r.status < 500 for r in replies), replies


# -- friend requests -------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def friends(instance):
    """bob and carol with friends tokens (alice is the instance's first user)."""
    people = {}
    for name in ("bob", "carol"):
        person = Account(instance.url, name).signup()
        client = person.register(scope="friends:read friends:write")
        people[name] = (person, person.tokens(client, scope="friends:read friends:write")["access_token"])
    yield people
    for person, _ in people.values():
        person.close()


def api_call(method: str, path: str, token: str, body: bytes = b"") -> bytes:
    return raw_request(method, path, body, {"Authorization": f"Bearer {token}", "Content-Type": "application/json"})


@pytest.mark.parametrize("round_", range(ROUNDS))
def test_accept_decline_and_cancel_at_once_have_one_outcome(instance, friends, round_):
    (bob, bob_token), (carol, carol_token) = friends["bob"], friends["carol"]
    sent = carol.http.post("/api/friends/requests", json={"to": "bob"},
                           headers={"Authorization": f"Bearer {carol_token}"})
    assert sent.status_code == 201, sent.text
    rid = sent.json()["id"]
    actions = ["accept"] * 5 + ["decline"] * 5
    requests = [api_call("POST", f"/api/friends/requests/{rid}/{a}", bob_token) for a in actions]
    requests += [api_call("POST", f"/api/friends/requests/{rid}/cancel", carol_token)] * 2
    replies = together(instance, requests)
    won = [(a, r) for a, r in zip(actions + ["cancel"] * 2, replies) if r.status == 200]
    assert len(won) == 1, replies
    assert all(r.status == 409 for r in replies if r.status != 200), replies
    status = {"accept": "accepted", "decline": "declined", "cancel": "cancelled"}[won[0][0]]
    assert won[0][1].json()["status"] == status
    rows = instance.query("SELECT status FROM friend_requests WHERE id = ?", (rid,))
    assert rows == [(status,)]
    friendships = instance.query("SELECT count(*) FROM friendships f JOIN users u ON u.id = f.user_id "
                                 "WHERE u.username IN ('bob', 'carol')")[0][0]
    assert friendships == (2 if status == "accepted" else 0)
    if status == "accepted":
        r = bob.http.delete("/api/friends/carol", headers={"Authorization": f"Bearer {bob_token}"})
        assert r.status_code == 204, r.text
