"""Remote friends' pictures (SPEC §2, §6 `icon`): copied from their actor's `icon` through
the federation guard, re-encoded like an upload, stored, served at /avatars/remote/ACCT,
fetched again after the actor is; a generated picture when there is no usable icon.
Two live instances on loopback ports, as in test_federation.py."""
from __future__ import annotations

import asyncio
import io
import logging

import pytest
import tornado.web
from PIL import Image
from tornado.httpserver import HTTPServer
from tornado.testing import bind_unused_port

from federation_helpers import Instance, eventually
from gancio_like import clock
from gancio_like.avatars import remote_avatar_url
from gancio_like.federation import actors
from gancio_like.storage import avatars as avatar_store
from image_helpers import BLUE, RED, multipart, plain

SLOW = pytest.mark.gen_test(timeout=60)


@pytest.fixture
def instances(io_loop, tmp_path):
    made = []

    async def make(name: str, **options) -> Instance:
        instance = await Instance(tmp_path / name, **options).open()
        made.append(instance)
        instance.start_worker()
        return instance
    yield make
    for instance in made:
        io_loop.run_sync(instance.dispose)


async def upload(person, data: bytes) -> None:
    body, content_type = multipart({"_xsrf": await person.browser.xsrf()}, {"avatar": ("me.png", "image/png", data)})
    resp = await person.browser.request("POST", "/settings", body, headers={"Content-Type": content_type})
    assert resp.code == 303, resp.text


async def picture(person, acct: str) -> Image.Image:
    resp = await person.browser.get(f"/avatars/remote/{acct}")
    assert resp.code == 200 and resp.headers["X-Content-Type-Options"] == "nosniff"
    return Image.open(io.BytesIO(resp.body))


def close(colour, expected, slack=40) -> bool:
    return all(abs(a - b) <= slack for a, b in zip(colour, expected))


async def refetch_actor(instance: Instance, person) -> None:
    """What happens when the cached actor is a day old: fetched again, and remembered."""
    fed = instance.app.federation
    await actors.remember(fed, await actors.fetch_actor(fed, person.actor))


@SLOW
async def test_a_remote_friends_picture_is_copied_shown_and_refreshed(instances):
    a, b = await instances("a"), await instances("b")
    alice, bob = await a.person("alice"), await b.person("bob")
    await upload(bob, plain((500, 500), RED))
    await alice.ask(bob.acct)  # A fetches bob's actor to deliver the Follow
    await eventually(lambda: a.count("SELECT count(*) FROM remote_avatars WHERE acct = ?", (bob.acct,)))

    image = await picture(alice, bob.acct)
    assert image.format == "JPEG" and image.size == (400, 400) and close(image.getpixel((200, 200)), RED)
    row = await avatar_store.get_remote_avatar(a.db, bob.acct)
    assert row.icon_url.startswith(f"{b.base}/avatars/bob?v=") and row.fetched_at >= row.noted_at
    assert remote_avatar_url(a.base, bob.acct) in (await alice.browser.get("/friends")).text

    await upload(bob, plain((500, 500), BLUE))
    assert close((await picture(alice, bob.acct)).getpixel((200, 200)), RED)  # the copy, until...
    await asyncio.sleep(1.1)  # (the clock counts seconds)
    await refetch_actor(a, bob)  # ...bob's actor is fetched again
    assert close((await picture(alice, bob.acct)).getpixel((200, 200)), BLUE)


@SLOW
async def test_a_remote_without_an_icon_gets_a_generated_picture(instances):
    a = await instances("a")
    alice = await a.person("alice")
    async with a.db.transaction() as tx:
        await avatar_store.note_remote_icon(tx, "dora@far.example", "", clock.now())
    for acct in ("dora@far.example", "never.seen@else.example"):
        image = await picture(alice, acct)
        assert image.format == "PNG" and image.size == (256, 256)
    assert actors.icon_url(None) == "" and actors.icon_url({"type": "Image"}) == ""


def test_icon_urls_in_the_shapes_actors_give_them():
    url = "https://files.example/a.png"
    assert actors.icon_url(url) == url
    assert actors.icon_url({"type": "Image", "url": url}) == url
    assert actors.icon_url([{"type": "Image", "url": [{"type": "Link", "href": url}]}]) == url
    assert actors.icon_url({"type": "Image", "url": "javascript:alert(1)"}) == ""
    assert actors.icon_url({"type": "Image", "url": "https://x.example/" + "a" * 2000}) == ""


class Serve(tornado.web.RequestHandler):
    def initialize(self, body: bytes, media_type: str):
        self.body, self.media_type = body, media_type

    def get(self):
        self.set_header("Content-Type", self.media_type)
        self.finish(self.body)


BAD_ICONS = {
    "larger than 5 MB": (b"\xff\xd8" + b"\0" * (5 * 1024 * 1024 + 10), "image/jpeg", "larger than"),
    "not a picture": (b"<html><script>alert(1)</script></html>", "image/png", "not a PNG, JPEG or WebP"),
}


@pytest.mark.parametrize("what", BAD_ICONS)
@SLOW
async def test_an_icon_fync_cannot_take_leaves_the_generated_picture(instances, caplog, what):
    body, media_type, reason = BAD_ICONS[what]
    sock, port = bind_unused_port()
    server = HTTPServer(tornado.web.Application([(r"/icon", Serve, {"body": body, "media_type": media_type})]))
    server.add_sockets([sock])
    a = await instances("a")
    alice = await a.person("alice")
    try:
        async with a.db.transaction() as tx:
            await avatar_store.note_remote_icon(tx, "eve@127.0.0.1:1", f"http://127.0.0.1:{port}/icon", clock.now() - 5)
        with caplog.at_level(logging.INFO, logger="fync"):
            image = await picture(alice, "eve@127.0.0.1:1")
        assert image.format == "PNG" and image.size == (256, 256)
        assert "picture of eve@127.0.0.1:1 not taken" in caplog.text and reason in caplog.text
        row = await avatar_store.get_remote_avatar(a.db, "eve@127.0.0.1:1")
        assert row.image is None and row.fetched_at > 0  # tried, and not again at every view
    finally:
        server.stop()


@SLOW
async def test_the_guard_refuses_a_private_address(instances, caplog):
    """Only on a test instance may an icon be on loopback; elsewhere it is never fetched."""
    a = await instances("a", allow_private=False)
    alice = await a.person("alice")
    async with a.db.transaction() as tx:
        await avatar_store.note_remote_icon(tx, "eve@evil.example", "https://127.0.0.1/secret.png", clock.now() - 5)
    with caplog.at_level(logging.INFO, logger="fync"):
        image = await picture(alice, "eve@evil.example")
    assert image.format == "PNG" and "loopback" in caplog.text


@SLOW
async def test_without_federation_nothing_is_fetched(instances):
    a = await instances("a", enabled=False)
    alice = await a.person("alice")
    async with a.db.transaction() as tx:
        await avatar_store.note_remote_icon(tx, "eve@far.example", "https://far.example/a.png", clock.now() - 5)
    assert (await picture(alice, "eve@far.example")).format == "PNG"
    assert (await avatar_store.get_remote_avatar(a.db, "eve@far.example")).fetched_at == 0


@SLOW
async def test_a_local_acct_goes_to_the_local_picture(instances):
    a = await instances("a")
    alice = await a.person("alice")
    resp = await alice.browser.get(f"/avatars/remote/alice@{a.domain}")
    assert resp.code == 302 and resp.headers["Location"] == "/avatars/alice"
    assert (await alice.browser.get("/avatars/remote/not an acct")).code == 400
