"""Web Push (SPEC §4): subscriptions per grant, pushes queued with each notification
and sent by the worker through the guarded client to a push service on loopback
(tests/push_helpers.py) that checks VAPID and decrypts every payload; 404/410,
400/413, 429/5xx; SSRF refused at subscription and at delivery; every way a grant
ends takes its subscriptions along (SECURITY-CHECKLIST 61, 62)."""
from __future__ import annotations

import json
import logging
import os

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from py_vapid.jwt import decode

from gancio_like import webpush
from gancio_like.config import ConfigError, is_contact, load_config
from gancio_like.models import Actor, Notification
from gancio_like.services import moderation
from gancio_like.services import notification_texts as texts
from gancio_like.notification_types import NotificationTypes
from gancio_like.services.notify import MAX_URL
from gancio_like.services.push_delivery import PushWorker
from oauth_helpers import api, exchange, full_flow, get_code, refresh, register, revoke
from push_helpers import PushService
import confirm_helpers

SCOPES = "profile friends:read friends:write notifications"
CONTACT = "mailto:admin@example.org"


@pytest.fixture
def config_overrides():
    return {("push", "contact"): CONTACT}


@pytest.fixture
def service(app, io_loop):
    found = PushService(app.push.public_key, subject=CONTACT).start()
    found.trust_here()
    yield found
    io_loop.run_sync(app.push.stop)
    io_loop.run_sync(found.stop)


class Person:
    def __init__(self, browser, user_id: int, name: str, client: dict, tokens: dict):
        self.browser, self.id, self.name, self.client, self.tokens = browser, user_id, name, client, tokens

    @property
    def token(self) -> str:
        return self.tokens["access_token"]

    async def call(self, path: str, method="GET", body=None):
        return await api(self.browser, path, self.token, method=method, body=body)

    async def subscribe(self, device) -> dict:
        r = await self.call("/api/push/subscriptions", "POST", device.json())
        assert r.code == 201, r.text
        return r.json()


@pytest.fixture
def person(make_browser, make_user):
    async def make(name: str, display_name: str = "") -> Person:
        browser = make_browser()
        user_id = await make_user(name, display_name=display_name)
        await browser.login(name)
        client = await register(browser, scope=SCOPES)
        return Person(browser, user_id, name, client, await full_flow(browser, client, scope=SCOPES))
    return make


def worker(app, **options) -> PushWorker:
    return PushWorker(app.db, app.push.sender, **{"base_delay": 0, **options})


async def queued(db) -> int:
    return await db.fetchval("SELECT count(*) FROM push_deliveries")


async def subscriptions(db) -> int:
    return await db.fetchval("SELECT count(*) FROM push_subscriptions")


# -- delivery ---------------------------------------------------------------------------------------

@pytest.mark.gen_test(timeout=30)
async def test_a_friend_request_reaches_every_device_encrypted_and_signed(person, service, app, db):
    alice, bob = await person("alice"), await person("bob", "Bob B.")
    phone, laptop = service.device("phone"), service.device("laptop")
    first = await alice.subscribe(phone)
    await alice.subscribe(laptop)
    assert first["endpoint"] == phone.endpoint and first["last_delivered_at"] is None
    r = await bob.call("/api/friends/requests", "POST", {"to": "alice"})
    assert r.code == 201 and await queued(db) == 2  # queued with the notification, in its transaction
    app.push.start(poll_interval=0.02)
    pushes = await service.wait(2)
    assert sorted(p.device for p in pushes) == ["laptop", "phone"] and service.refused == []
    for push in pushes:
        assert push.payload == {"type": "friend_request", "title": "New friend request",
                                "body": f"Bob B. (bob@{app.cfg.domain}) wants to be your friend.",
                                "url": f"{app.cfg.issuer}/friends"}
        assert push.claims["sub"] == CONTACT and push.claims["aud"] == service.origin
        assert push.wire_bytes < 4096 and push.headers["Ttl"] == str(webpush.TTL)
        secrets_ = [alice.token, alice.tokens["refresh_token"], bob.token, alice.client["client_secret"]]
        assert not any(s in json.dumps(push.payload) + json.dumps(push.headers) for s in secrets_)
    await texts_wait_empty(db)
    listed = (await alice.call("/api/push/subscriptions")).json()["items"]
    assert all(s["last_delivered_at"] is not None for s in listed)


async def texts_wait_empty(db) -> None:
    from federation_helpers import eventually
    await eventually(lambda: _empty(db))


async def _empty(db) -> bool:
    return await queued(db) == 0


@pytest.mark.gen_test
async def test_nobody_subscribed_means_nothing_queued(person, db):
    alice, bob = await person("alice"), await person("bob")
    assert (await bob.call("/api/friends/requests", "POST", {"to": "alice"})).code == 201
    assert await db.fetchval("SELECT count(*) FROM notifications") == 1 and await queued(db) == 0


@pytest.mark.gen_test
@pytest.mark.parametrize("status", [404, 410])
async def test_a_gone_subscription_is_deleted(person, service, app, db, status):
    alice, bob = await person("alice"), await person("bob")
    await alice.subscribe(service.device("phone"))
    service.answers["phone"] = [status]
    await bob.call("/api/friends/requests", "POST", {"to": "alice"})
    assert await worker(app).run_once() == 1
    assert service.hits == {"push/phone": 1}
    assert await subscriptions(db) == 0 and await queued(db) == 0
    assert (await alice.call("/api/push/subscriptions")).json()["items"] == []


@pytest.mark.gen_test
@pytest.mark.parametrize("answers", [[500, 503, 201], [429, 201], [(502, {"Retry-After": "1"}), 201]])
async def test_busy_or_failing_push_services_are_retried(person, service, app, db, answers):
    alice, bob = await person("alice"), await person("bob")
    await alice.subscribe(service.device("phone"))
    service.answers["phone"] = list(answers)
    await bob.call("/api/friends/requests", "POST", {"to": "alice"})
    for tries in range(1, len(answers)):
        assert await worker(app).run_once() == 1
        row = await db.fetchone("SELECT attempts, last_error FROM push_deliveries")
        assert row["attempts"] == tries and "HTTP 5" in row["last_error"] or "HTTP 429" in row["last_error"]
    assert await worker(app).run_once() == 1
    assert len(service.received) == 1 and service.hits["push/phone"] == len(answers)
    assert await queued(db) == 0 and await subscriptions(db) == 1


@pytest.mark.gen_test
async def test_retries_wait_and_end_once_the_push_is_stale(person, service, app, db, caplog):
    alice, bob = await person("alice"), await person("bob")
    await alice.subscribe(service.device("phone"))
    service.answers["phone"] = [500] * 5
    await bob.call("/api/friends/requests", "POST", {"to": "alice"})
    assert await worker(app, base_delay=5).run_once() == 1
    assert await worker(app).run_once() == 0  # not due yet: the first retry comes 5 s later
    await db.execute("UPDATE push_deliveries SET next_attempt_at = 0, created_at = created_at - ?",
                     (webpush.TTL,))
    with caplog.at_level(logging.WARNING, logger="fync.push"):
        assert await worker(app).run_once() == 1
    said = " ".join(r.getMessage() for r in caplog.records if r.name == "fync.push")
    assert await queued(db) == 0 and "gave up push" in said and "/push/phone" not in said


@pytest.mark.gen_test
@pytest.mark.parametrize("status", [400, 413, 403])
async def test_refused_pushes_are_logged_and_dropped(person, service, app, db, status, caplog):
    alice, bob = await person("alice"), await person("bob")
    await alice.subscribe(service.device("phone"))
    service.answers["phone"] = [status]
    await bob.call("/api/friends/requests", "POST", {"to": "alice"})
    with caplog.at_level(logging.WARNING, logger="fync.push"):
        assert await worker(app).run_once() == 1
    said = " ".join(r.getMessage() for r in caplog.records if r.name == "fync.push")
    assert f"HTTP {status}" in said and "127.0.0.1" in said and "/push/phone" not in said
    assert await queued(db) == 0 and await subscriptions(db) == 1


@pytest.mark.gen_test
async def test_a_push_service_that_redirects_is_not_followed(person, service, app, db):
    alice, bob = await person("alice"), await person("bob")
    await alice.subscribe(service.device("phone"))
    service.device("elsewhere")
    service.answers["phone"] = [(307, {"Location": service.devices["elsewhere"].endpoint})]
    await bob.call("/api/friends/requests", "POST", {"to": "alice"})
    assert await worker(app).run_once() == 1
    assert service.hits == {"push/phone": 1}
    assert "redirect" in await db.fetchval("SELECT last_error FROM push_deliveries")


# -- subscribing --------------------------------------------------------------------------------------

@pytest.mark.gen_test
async def test_subscriptions_belong_to_their_app(person, service, make_browser, db):
    alice = await person("alice")
    phone = service.device("phone")
    mine = await alice.subscribe(phone)
    assert (await alice.subscribe(phone))["id"] == mine["id"]  # the same device again: updated, not doubled
    other = make_browser()
    await other.login("alice")
    client = await register(other, scope=SCOPES)
    other_token = (await full_flow(other, client, scope=SCOPES))["access_token"]
    r = await api(other, "/api/push/subscriptions", other_token, "POST", phone.json())
    assert r.code == 201 and r.json()["id"] != mine["id"]
    assert [s["id"] for s in (await alice.call("/api/push/subscriptions")).json()["items"]] == [mine["id"]]
    assert (await api(other, f"/api/push/subscriptions/{mine['id']}", other_token, "DELETE")).code == 404
    assert (await alice.call(f"/api/push/subscriptions/{mine['id']}", "DELETE")).code == 204
    assert (await alice.call(f"/api/push/subscriptions/{mine['id']}", "DELETE")).code == 404
    assert await subscriptions(db) == 1


@pytest.mark.gen_test
async def test_an_app_subscribes_at_most_ten_devices(person, service):
    alice = await person("alice")
    for n in range(10):
        await alice.subscribe(service.device(f"d{n}"))
    r = await alice.call("/api/push/subscriptions", "POST", service.device("d10").json())
    assert r.code == 409 and r.json()["error"] == "conflict"
    assert (await alice.call("/api/push/subscriptions", "POST", service.devices["d3"].json())).code == 201


def broken_keys(device) -> list[tuple[str, dict]]:
    good = device.json()
    p256dh, auth = good["keys"]["p256dh"], good["keys"]["auth"]
    off_curve = webpush.b64url(b"\x04" + b"\x01" * 64)
    return [("keys.p256dh", {**good, "keys": {"p256dh": off_curve, "auth": auth}}),
            ("keys.p256dh", {**good, "keys": {"p256dh": webpush.b64url(b"\x02" + b"\x01" * 64) + "A", "auth": auth}}),
            ("keys.p256dh", {**good, "keys": {"p256dh": p256dh[:-1] + "+", "auth": auth}}),
            ("keys.auth", {**good, "keys": {"p256dh": p256dh, "auth": webpush.b64url(os.urandom(17))}}),
            ("keys.auth", {**good, "keys": {"p256dh": p256dh, "auth": auth[:-1] + "/"}}),
            ("keys", {"endpoint": good["endpoint"]}),
            ("endpoint", {**good, "endpoint": good["endpoint"].replace("https:", "http:")}),
            ("endpoint", {**good, "endpoint": "https://" + "a" * 2000 + ".example/"}),
            ("endpoint", {**good, "endpoint": good["endpoint"] + "#frag"}),
            ("endpoint", {**good, "endpoint": "https://user@127.0.0.1/"})]


@pytest.mark.gen_test
async def test_malformed_subscriptions_are_refused(person, service, db):
    alice = await person("alice")
    for field, body in broken_keys(service.device("phone")):
        r = await alice.call("/api/push/subscriptions", "POST", body)
        assert r.code == 400 and r.json()["error"] == "invalid_request", (field, r.text)
        assert field in r.json()["error_description"], (field, r.text)
    assert await subscriptions(db) == 0


PRIVATE = ["https://127.0.0.1:{port}/push/phone", "https://[::1]/x", "https://169.254.169.254/latest",
           "https://10.1.2.3/x", "https://192.168.0.1/x", "https://[::ffff:127.0.0.1]/x", "https://localhost/x",
           "https://0.0.0.0/x", "https://100.64.0.1/x"]


@pytest.mark.gen_test
@pytest.mark.parametrize("config_overrides", [{("federation", "allow_private_addresses"): False}])
async def test_private_addresses_are_refused_at_subscription(person, service, db):
    alice = await person("alice")
    body = service.device("phone").json()
    for endpoint in PRIVATE:
        r = await alice.call("/api/push/subscriptions", "POST", {**body, "endpoint": endpoint.format(port=service.port)})
        assert r.code == 400 and "endpoint refused" in r.json()["error_description"], (endpoint, r.text)
    assert await subscriptions(db) == 0 and service.hits == {}


@pytest.mark.gen_test
@pytest.mark.parametrize("config_overrides", [{("federation", "allow_private_addresses"): False}])
async def test_private_addresses_are_never_contacted_at_delivery(person, service, app, db):
    """An endpoint stored before (the rules changed, or DNS now answers a private address)."""
    alice, bob = await person("alice"), await person("bob")
    phone = service.device("phone").json()
    grant = await db.fetchval("SELECT id FROM grants WHERE user_id = ?", (alice.id,))
    await db.execute("INSERT INTO push_subscriptions (grant_id, user_id, endpoint, p256dh, auth, created_at) "
                     "VALUES (?, ?, ?, ?, ?, 0)", (grant, alice.id, phone["endpoint"], phone["keys"]["p256dh"],
                                                   phone["keys"]["auth"]))
    await bob.call("/api/friends/requests", "POST", {"to": "alice"})
    assert await worker(app).run_once() == 1
    assert service.hits == {} and "loopback" in await db.fetchval("SELECT last_error FROM push_deliveries")


# -- a subscription dies with its grant ------------------------------------------------------------------

async def end_by_settings_one(alice, app):
    r = await alice.browser.post("/settings/apps/revoke", {"client_id": alice.client["client_id"], "confirm": "yes"})
    assert r.code == 303


async def end_by_settings_all(alice, app):
    assert (await alice.browser.post("/settings/apps/revoke-all", {"confirm": "yes"})).code == 303


async def end_by_rfc7009(alice, app):
    assert (await revoke(alice.browser, alice.client, alice.tokens["refresh_token"])).code == 200


async def end_by_reuse(alice, app):
    assert (await refresh(alice.browser, alice.client, alice.tokens["refresh_token"])).code == 200
    assert (await refresh(alice.browser, alice.client, alice.tokens["refresh_token"])).code == 400


async def end_by_password(alice, app):
    r = await alice.browser.post("/settings", {"current_password": "correct horse battery",
                                               "new_password": "another horse battery"})
    assert r.code == 303


async def end_by_replacing(alice, app):
    code, verifier = await get_code(alice.browser, alice.client, scope="profile", replace_existing_token="true")
    assert (await exchange(alice.browser, alice.client, code, verifier)).code == 200


async def end_by_disabling(alice, app):
    assert await moderation.disable(app.db, alice.client["client_id"]) == 1


async def end_by_deleting(alice, app):
    await moderation.delete(app.db, alice.client["client_id"])


@pytest.mark.gen_test
@pytest.mark.parametrize("end", [end_by_settings_one, end_by_settings_all, end_by_rfc7009, end_by_reuse,
                                 end_by_password, end_by_replacing, end_by_disabling, end_by_deleting])
async def test_every_way_a_grant_ends_deletes_its_subscriptions(person, service, app, db, end):
    alice, bob = await person("alice"), await person("bob")
    await alice.subscribe(service.device("phone"))
    await bob.call("/api/friends/requests", "POST", {"to": "alice"})
    assert await queued(db) == 1
    await end(alice, app)
    assert await subscriptions(db) == 0 and await queued(db) == 0  # the queued push went too
    await bob.call("/api/friends/requests/1/cancel", "POST")
    await bob.call("/api/friends/requests", "POST", {"to": "alice"})
    assert await queued(db) == 0
    assert await worker(app).run_once() == 0 and service.hits == {}


@pytest.mark.gen_test
async def test_revoking_only_an_access_token_keeps_the_device(person, service, db):
    alice = await person("alice")
    await alice.subscribe(service.device("phone"))
    assert (await revoke(alice.browser, alice.client, alice.token)).code == 200
    assert await subscriptions(db) == 1  # the grant lives on: its refresh token gets a new access token


@pytest.mark.gen_test
async def test_a_grant_that_can_no_longer_act_loses_its_device_at_delivery(person, service, app, db):
    alice, bob = await person("alice"), await person("bob")
    await alice.subscribe(service.device("phone"))
    await bob.call("/api/friends/requests", "POST", {"to": "alice"})
    await db.execute("UPDATE tokens SET expires_at = 1 WHERE grant_id IN (SELECT id FROM grants WHERE user_id = ?)",
                     (alice.id,))
    assert await worker(app).run_once() == 1
    assert service.hits == {} and await subscriptions(db) == 0


@pytest.mark.gen_test
async def test_housekeeping_removes_devices_of_grants_that_expired(person, service, db):
    from gancio_like.services import housekeeping
    alice, bob = await person("alice"), await person("bob")
    await alice.subscribe(service.device("phone"))
    await bob.subscribe(service.device("laptop"))
    await housekeeping.sweep(db)
    assert await subscriptions(db) == 2
    await db.execute("UPDATE tokens SET expires_at = 1 WHERE grant_id IN (SELECT id FROM grants WHERE user_id = ?)",
                     (alice.id,))
    await housekeeping.sweep(db)
    assert await db.fetchval("SELECT user_id FROM push_subscriptions") == bob.id


# -- the person's devices on /settings ----------------------------------------------------------------------

@pytest.mark.gen_test
async def test_settings_list_devices_and_remove_one_after_a_confirmation(person, service, db):
    alice, bob = await person("alice"), await person("bob")
    phone = await alice.subscribe(service.device("phone"))
    page = await alice.browser.get("/settings")
    assert 'id="devices"' in page.text and "Test App" in page.text and "via 127.0.0.1" in page.text
    assert "/push/phone" not in page.text and "last notification never" in page.text
    path = f"/settings/devices/{phone['id']}/remove"
    asked = await confirm_helpers.ask(alice.browser, path)
    assert asked.question.startswith("Remove this device (Test App, via 127.0.0.1)")
    assert asked.cancel == "/settings#devices" and await subscriptions(db) == 1  # asking changes nothing
    assert (await bob.browser.post(path, {"confirm": "yes"})).code == 404  # not bob's
    assert (await alice.browser.post(path, {"confirm": "yes"}, xsrf=False)).code == 403
    r = await confirm_helpers.confirm(alice.browser, path)
    assert r.code == 303 and r.location == "/settings?removed=device#devices"
    assert await subscriptions(db) == 0
    assert "Device removed" in (await alice.browser.get(r.location)).text
    assert (await alice.browser.post(path, {"confirm": "yes"})).code == 404


# -- the pieces -------------------------------------------------------------------------------------------

def test_the_largest_payload_fits_one_record():
    """Every field at its longest, in 4-byte characters: still below RFC 8291's 3993 bytes."""
    wide = "\U0001F600"
    types = NotificationTypes()
    types.add("sample:kind", wide * 1000, owner="sample")
    n = Notification(1, 1, "sample:kind", Actor("x@y", wide * 1000, None), 1, "https://a/" + "b" * (MAX_URL - 10),
                     0, False)
    words = texts.text(n, texts.Context(types, "UTC", {}))
    assert len(words.title) == texts.MAX_TITLE and len(words.body) == texts.MAX_BODY
    payload = texts.payload(n, words, "https://fync.example")
    assert len(payload) < webpush.MAX_PLAINTEXT == 3993
    with pytest.raises(ValueError):
        webpush.encrypt(b"x" * 3994, os.urandom(65), os.urandom(16))


def test_vapid_key_is_made_once_private_and_p256(tmp_path):
    key = webpush.load_key(tmp_path)
    assert (tmp_path / "vapid.key").stat().st_mode & 0o777 == 0o600
    assert webpush.public_key(webpush.load_key(tmp_path)) == webpush.public_key(key)
    raw = webpush.b64url_decode(webpush.public_key(key))
    assert len(raw) == 65 and raw[0] == 4
    (tmp_path / "other").mkdir()
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ed25519
    (tmp_path / "other" / "vapid.key").write_bytes(ed25519.Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    with pytest.raises(ConfigError, match="P-256"):
        webpush.load_key(tmp_path / "other")
    (tmp_path / "other" / "vapid.key").write_text("garbage")
    with pytest.raises(ConfigError, match="restore it from a backup"):
        webpush.load_key(tmp_path / "other")


@pytest.mark.parametrize("value, ok", [("mailto:admin@example.org", True), ("https://fync.example.org", True),
                                       ("https://fync.example.org/contact", True), ("mailto:admin", False),
                                       ("mailto:@example.org", False), ("http://fync.example.org", False),
                                       ("admin@example.org", False), ("mailto:a b@example.org", False),
                                       ("https://", False), ("https://user@host.example", False)])
def test_contact_must_be_mailto_or_https(value, ok, tmp_path):
    assert is_contact(value) is ok
    empty = tmp_path / "fync.toml"
    empty.write_text("")
    if ok:
        assert load_config(str(empty), env={"FYNC_PUSH_CONTACT": value}).push.contact == value
    else:
        with pytest.raises(ConfigError, match=r"\[push\] contact"):
            load_config(str(empty), env={"FYNC_PUSH_CONTACT": value})


def test_the_vapid_subject():
    assert webpush.subject_for("mailto:a@b.org", "https://fync.example") == "mailto:a@b.org"
    assert webpush.subject_for("", "https://fync.example") == "https://fync.example"
    assert webpush.subject_for("", "http://127.0.0.1:8080") == ""  # optional (RFC 8292 §2.1): left out
    key = ec.generate_private_key(ec.SECP256R1())
    token = webpush.authorization(key, "https://push.example:8443/x/y", "", 1000).split("t=")[1].split(",k=")[0]
    assert decode(token, webpush.public_key(key)) == {"aud": "https://push.example:8443", "exp": 1000 + 12 * 3600}
