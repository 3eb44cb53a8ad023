"""The app's notifications view and "Turn on notifications for this device" (SPEC §4, §9):
the notifications the server lists, and a device subscribed through GET /api/push/key,
PushManager.subscribe and POST /api/push/subscriptions, then unsubscribed.

Headless Chromium has no push service, so PushManager is replaced in the page (before any
script of it runs) by one that hands out a real P-256 key and an https endpoint on
loopback; this instance accepts loopback endpoints, as federation's tests do. Nothing is
delivered here: deliveries are the notifications tests' business."""
from __future__ import annotations

import base64
import os
import re
import time

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from playwright.sync_api import expect

from conftest import Server
from test_app import AppUser, form, web_person

FAKE_PUSH = """(() => {
  let current = null;
  window.__pushOptions = [];
  PushManager.prototype.subscribe = async function (options) {
    window.__pushOptions.push(Array.from(new Uint8Array(options.applicationServerKey)));
    current = { endpoint: "https://127.0.0.1:9/push/device-1",
      toJSON() { return { endpoint: this.endpoint, expirationTime: null, keys: { p256dh: %r, auth: %r } }; },
      async unsubscribe() { current = null; return true; } };
    return current;
  };
  PushManager.prototype.getSubscription = async function () { return current; };
})();"""


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def device_keys() -> tuple[str, str]:
    public = ec.generate_private_key(ec.SECP256R1()).public_key()
    point = public.public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
    return b64url(point), b64url(os.urandom(16))


@pytest.fixture(scope="module")
def loopback_server(tmp_path_factory):
    srv = Server(tmp_path_factory.mktemp("push"), config="[federation]\nallow_private_addresses = true\n")
    try:
        srv.wait_ready()
        yield srv
    finally:
        srv.stop()


def app_api(page, path: str, method: str = "GET"):
    """Call the API with the app's own token, read from its IndexedDB."""
    return page.evaluate("""async ([path, method]) => {
        const tokens = await new Promise((resolve, reject) => {
          const open = indexedDB.open("fync-app");
          open.onsuccess = () => {
            const req = open.result.transaction("session").objectStore("session").get("tokens");
            req.onsuccess = () => { open.result.close(); resolve(req.result); };
            req.onerror = () => reject(req.error);
          };
        });
        const res = await fetch(path, { method, headers: { Authorization: `Bearer ${tokens.access_token}` } });
        return { status: res.status, body: res.status === 204 ? null : await res.json() };
    }""", [path, method])


def wait_until(check, seconds: float = 5.0) -> bool:
    """Whether `check()` holds within `seconds`, asked every 0.1 s."""
    deadline = time.monotonic() + seconds
    while not check():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True


def test_notifications_listed_and_push_turned_on_and_off(playwright, chromium, loopback_server, tmp_path, shot):
    probe = chromium.new_context(base_url=loopback_server.base)
    missing = probe.request.get("/api/push/key").status == 404
    probe.close()
    if missing:
        pytest.skip("this instance has no notifications API yet (issue 18)")
    amy = AppUser(playwright, loopback_server, tmp_path / "profile", "amy")
    try:
        amy.context.grant_permissions(["notifications"], origin=loopback_server.base)
        amy.context.add_init_script(FAKE_PUSH % device_keys())
        amy.log_in()
        bob = web_person(chromium, loopback_server, "bob")
        form(bob, "/friends/requests", name="amy")
        page = amy.page
        page.get_by_role("link", name="Alerts").click()
        expect(page.get_by_role("heading", name="Notifications", level=1)).to_be_visible()
        expect(page.locator("main")).to_contain_text("Bob")
        # Seen, so marked read: the app posts that after it shows the list, so give the POST its moment.
        assert wait_until(lambda: app_api(page, "/api/notifications")["body"]["unread"] == 0)

        page.get_by_role("button", name="Turn on notifications for this device").click()
        expect(page.locator("main")).to_contain_text("Notifications are on for this device")
        shot(page, "app-notifications")
        key = app_api(page, "/api/push/key")["body"]["public_key"]
        sent = page.evaluate("window.__pushOptions")[0]
        assert b64url(bytes(sent)) == key.rstrip("=")          # the instance's VAPID key
        subscribed = app_api(page, "/api/push/subscriptions")["body"]["items"]
        assert [s["endpoint"] for s in subscribed] == ["https://127.0.0.1:9/push/device-1"]

        page.get_by_role("button", name="Turn off notifications for this device").click()
        expect(page.locator("main")).to_contain_text("Get a notification on this device")
        assert app_api(page, "/api/push/subscriptions")["body"]["items"] == []
    finally:
        amy.context.close()
