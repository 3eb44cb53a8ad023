"""Notifications in Debian's Chromium at 390 px (SPEC §2, §4): a page subscribes this
browser to Web Push, a friend request arrives as a push and on the page, the header
counts it, "Mark all as read" and removing the device from /settings work without
JavaScript.

PushManager.subscribe() itself is not called: Chromium would ask Google's push service
(FCM) for an endpoint, over the internet, which this test must not reach (and headless
it has no push service to ask). So the test makes the subscription the browser would
have made — a P-256 key pair and an auth secret of its own — and the page sends it to
`POST /api/push/subscriptions` with `fetch`, as the app does with the real one. The
push service is tests/push_helpers.py on loopback over TLS, in a thread of this test;
`fync serve` trusts its CA through SSL_CERT_FILE."""
from __future__ import annotations

import asyncio
import threading
import time
import urllib.parse

import pytest
from playwright.sync_api import Page, expect

from conftest import PHONE, axe_violations, no_sideways_scroll
from push_helpers import PushService
from serve_helpers import FyncServer, basic
from test_journeys import sign_up

CONTACT = "mailto:admin@example.org"


@pytest.fixture(scope="module")
def service():
    """The push service, served by an event loop of its own in a thread."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    found = asyncio.run_coroutine_threadsafe(_start(), loop).result(10)
    yield found
    asyncio.run_coroutine_threadsafe(found.stop(), loop).result(10)
    loop.call_soon_threadsafe(loop.stop)
    thread.join(10)


async def _start() -> PushService:
    return PushService("", subject=CONTACT).start()


@pytest.fixture(scope="module")
def instance(tmp_path_factory, service):
    root = tmp_path_factory.mktemp("push")
    server = FyncServer(root / "instance", FYNC_FEDERATION_ALLOW_PRIVATE_ADDRESSES="true", FYNC_PUSH_CONTACT=CONTACT,
                        SSL_CERT_FILE=service.ca_file(root)).start()
    yield server
    assert server.terminate() == 0


@pytest.fixture
def phone(chromium, instance):
    contexts = []

    def make() -> Page:
        context = chromium.new_context(viewport=PHONE, base_url=instance.url)
        context.set_default_timeout(10_000)
        contexts.append(context)
        return context.new_page()
    yield make
    for context in contexts:
        context.close()


def authorize(page: Page, instance: FyncServer, callback) -> str:
    """The app's login: register, consent in this browser, exchange the code → an access token."""
    client = page.request.post(f"{instance.url}/oauth/register", data={
        "client_name": "Browser test app", "redirect_uris": [callback.url],
        "scope": "profile notifications"}).json()
    query = urllib.parse.urlencode({"response_type": "code", "client_id": client["client_id"],
                                    "redirect_uri": callback.url, "scope": "profile notifications", "state": "s"})
    page.goto(f"/oauth/authorize?{query}")
    expect(page.locator("main")).to_contain_text("See your notifications, and send them to your devices")
    page.get_by_role("button", name="Allow").click()
    page.wait_for_url(callback.url + "?*")
    code = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(page.url).query))["code"]
    answer = page.request.post(f"{instance.url}/oauth/token", headers=basic(client), form={
        "grant_type": "authorization_code", "code": code, "redirect_uri": callback.url})
    assert answer.status == 200, answer.text()
    return answer.json()["access_token"]


SUBSCRIBE = """async ([token, subscription]) => {
    const seen = {pushManager: "PushManager" in window, serviceWorker: "serviceWorker" in navigator,
                  secure: window.isSecureContext};
    const key = await (await fetch("/api/push/key")).json();
    seen.keyBytes = atob(key.public_key.replace(/-/g, "+").replace(/_/g, "/")).length;
    const answer = await fetch("/api/push/subscriptions", {method: "POST", body: JSON.stringify(subscription),
        headers: {"Authorization": "Bearer " + token, "Content-Type": "application/json"}});
    seen.status = answer.status;
    seen.body = await answer.json();
    return seen;
}"""


def fits_and_accessible(page: Page, shot, name: str) -> None:
    """At 390 px, light and dark: no sideways scroll, no serious axe-core violation."""
    for scheme in ("light", "dark"):
        page.emulate_media(color_scheme=scheme)
        assert no_sideways_scroll(page), name
        assert axe_violations(page) == [], (name, scheme)
        shot(page, f"{name}-{scheme}")


def test_a_page_subscribes_and_a_friend_request_arrives_as_a_push(phone, instance, service, callback, shot):
    alice, bob = phone(), phone()
    sign_up(alice, "alice")
    sign_up(bob, "bob", "Bob Builder")
    token = authorize(alice, instance, callback)
    alice.goto("/settings")
    service.vapid_public_key = alice.request.get(f"{instance.url}/api/push/key").json()["public_key"]
    device = service.device("chromium")
    seen = alice.evaluate(SUBSCRIBE, [token, device.json()])
    assert seen["pushManager"] and seen["serviceWorker"] and seen["secure"], seen  # what a real page would use
    assert seen["keyBytes"] == 65 and seen["status"] == 201, seen

    bob.goto("/friends")
    bob.fill('[name="name"]', "alice")
    bob.get_by_role("button", name="Send friend request").click()
    deadline = time.monotonic() + 15
    while not service.received and time.monotonic() < deadline:
        time.sleep(0.05)
    [push] = service.received
    assert push.payload["title"] == "New friend request" and "Bob Builder" in push.payload["body"]
    assert push.payload["url"] == f"{instance.url}/friends" and service.refused == []

    alice.goto("/")
    expect(alice.locator("header .badge")).to_have_text("1 unread")
    alice.locator("header").get_by_role("link", name="Notifications").click()
    expect(alice.locator("main")).to_contain_text("Bob Builder")
    fits_and_accessible(alice, shot, "notifications")
    alice.get_by_role("button", name="Mark all as read").click()
    expect(alice.locator("header .badge")).to_have_count(0)
    expect(alice.get_by_role("button", name="Mark all as read")).to_have_count(0)

    alice.goto("/settings#devices")
    devices = alice.locator("#devices")
    expect(devices).to_contain_text("Browser test app")
    expect(devices).not_to_contain_text("last notification never")
    fits_and_accessible(alice, shot, "settings-devices")
    devices.get_by_role("button", name="Remove").click()
    expect(alice.locator("h1")).to_contain_text("Remove this device (Browser test app, via 127.0.0.1)?")
    fits_and_accessible(alice, shot, "device-remove")
    alice.get_by_role("button", name="Remove device").click()
    expect(alice.locator("#devices")).to_contain_text("Device removed")
    expect(alice.locator("#devices")).to_contain_text("No device gets your notifications")
