"""Everyone's picture (SPEC §2 "More about accounts", §4 `avatar`, §6 `icon`): uploads on
/settings decoded and re-encoded square with no metadata, bad files refused with nothing
stored, generated pictures for everyone else, served with safe headers, and shown in the
API, on the pages and on the ActivityPub actor. Pictures are made with Pillow."""
from __future__ import annotations

import io

import pytest
from PIL import Image

from gancio_like import images
from image_helpers import (BLUE, RED, animated_png, bomb, encoded, gps_exif, halves, multipart, plain,
                           with_metadata_png)
from oauth_helpers import api, full_flow, register

AP = "application/activity+json"


async def upload(browser, data: bytes, filename: str = "me.png", media_type: str = "image/png"):
    body, content_type = multipart({"_xsrf": await browser.xsrf()}, {"avatar": (filename, media_type, data)})
    return await browser.request("POST", "/settings", body, headers={"Content-Type": content_type})


async def version(db, name: str = "alice") -> int:
    return await db.fetchval("SELECT avatar_version FROM users WHERE username = ?", (name,))


async def served(browser, name: str = "alice", v: int | None = None):
    resp = await browser.get(f"/avatars/{name}" + ("" if v is None else f"?v={v}"))
    assert resp.code == 200, resp.text
    return resp, Image.open(io.BytesIO(resp.body))


def close(colour, expected, slack=40) -> bool:
    return all(abs(a - b) <= slack for a, b in zip(colour, expected))


async def log_in_alice(browser, make_user):
    await make_user("alice", display_name="Alice Liddell")
    await browser.login("alice")
    return browser


# -- uploads ----------------------------------------------------------------------------------------

@pytest.mark.gen_test
async def test_an_upload_is_stored_square_and_served_for_ever(db, app, browser, make_user):
    alice = await log_in_alice(browser, make_user)
    resp = await upload(alice, plain((1000, 800)))
    assert resp.code == 303 and resp.location == "/settings?saved=picture"
    assert "Saved your picture" in (await alice.get(resp.location)).text
    v = await version(db)
    assert v > 0
    resp, image = await served(alice, v=v)
    assert image.format == "JPEG" and image.size == (400, 400) and close(image.getpixel((200, 200)), RED)
    assert resp.headers["Content-Type"] == "image/jpeg"
    assert resp.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
    assert resp.headers["Content-Security-Policy"] == "default-src 'none'; sandbox"
    # Another version's URL (an old one in some cache) gets the current picture, briefly cached.
    old, _ = await served(alice, v=v - 1)
    assert old.body == resp.body and old.headers["Cache-Control"] == "public, max-age=3600"


@pytest.mark.gen_test
async def test_a_small_picture_is_not_enlarged(db, browser, make_user):
    alice = await log_in_alice(browser, make_user)
    await upload(alice, plain((120, 90)))
    _, image = await served(alice)
    assert image.size == (90, 90)


@pytest.mark.gen_test
async def test_each_upload_gets_a_new_url_also_after_a_removal(db, browser, make_user):
    alice = await log_in_alice(browser, make_user)
    await upload(alice, plain())
    first = await version(db)
    await upload(alice, plain(colour=BLUE))
    second = await version(db)
    resp = await alice.post("/settings", {"avatar_remove": "1"})
    assert resp.code == 303 and await version(db) == 0
    await upload(alice, plain())
    assert len({first, second, await version(db)}) == 3 and await version(db) > second


@pytest.mark.gen_test
async def test_gps_and_camera_exif_are_gone_and_the_orientation_is_honoured(db, browser, make_user):
    alice = await log_in_alice(browser, make_user)
    # Orientation 6: shown turned 90° clockwise, so the red left half ends up on top.
    data = encoded(halves((600, 300)), "JPEG", exif=gps_exif(orientation=6).tobytes(), quality=95)
    assert b"PhoneMaker" in data
    assert (await upload(alice, data, "photo.jpg", "image/jpeg")).code == 303
    resp, image = await served(alice)
    assert image.size == (300, 300)
    assert close(image.getpixel((150, 20)), RED) and close(image.getpixel((150, 280)), BLUE)
    assert not image.getexif() and b"Exif" not in resp.body and b"PhoneMaker" not in resp.body
    assert "icc_profile" not in image.info


@pytest.mark.gen_test
async def test_text_xmp_icc_and_exif_chunks_are_gone_and_transparency_stays(db, browser, make_user):
    alice = await log_in_alice(browser, make_user)
    data = with_metadata_png()
    assert b"secret-note" in data and b"iCCP" in data and b"eXIf" in data
    assert (await upload(alice, data)).code == 303
    resp, image = await served(alice)
    assert image.format == "PNG" and image.mode == "RGBA" and image.getpixel((10, 10))[3] == 0
    for chunk in (b"tEXt", b"iTXt", b"zTXt", b"iCCP", b"eXIf", b"secret"):
        assert chunk not in resp.body


@pytest.mark.gen_test
async def test_webp_is_taken(db, browser, make_user):
    alice = await log_in_alice(browser, make_user)
    assert (await upload(alice, plain(fmt="WEBP"), "me.webp", "image/webp")).code == 303
    _, image = await served(alice)
    assert image.format == "JPEG" and close(image.getpixel((100, 100)), RED)


@pytest.mark.gen_test
async def test_of_an_animation_the_first_frame_is_kept(db, browser, make_user):
    alice = await log_in_alice(browser, make_user)
    assert (await upload(alice, animated_png())).code == 303
    _, image = await served(alice)
    assert close(image.getpixel((100, 100)), RED) and getattr(image, "n_frames", 1) == 1


REFUSED = {
    "a decompression bomb": (bomb(), "million pixels"),
    "text named .png": (b"just some text pretending\n" * 40, "not a PNG, JPEG or WebP"),
    "a GIF": (plain(fmt="GIF"), "not a PNG, JPEG or WebP"),
    "an SVG": (b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>', "not a PNG, JPEG or WebP"),
    "a BMP": (plain(fmt="BMP"), "not a PNG, JPEG or WebP"),
    "a truncated JPEG": (plain((800, 800), fmt="JPEG")[:3000], "damaged or incomplete"),
    "a truncated PNG": (encoded(halves((800, 800)), "PNG")[:2000], "damaged or incomplete"),
    "an empty file": (b"", "choose a picture"),
    "over 5 MB": (plain() + b"\0" * (5 * 1024 * 1024), "larger than 5 MB"),
}


@pytest.mark.parametrize("what", REFUSED)
@pytest.mark.gen_test
async def test_anything_else_is_refused_with_a_message_and_nothing_stored(db, what, browser, make_user):
    alice = await log_in_alice(browser, make_user)
    data, message = REFUSED[what]
    resp = await upload(alice, data)
    assert resp.code == 400 and message in resp.text
    assert await version(db) == 0
    assert await db.fetchval("SELECT count(*) FROM avatars") == 0


def test_a_bomb_is_refused_before_it_is_decoded(monkeypatch):
    """Its size comes from the header: decoding it would take 400 MB."""
    def no_decoding(self, *args, **kwargs):
        raise AssertionError("the bomb was decoded")
    data = bomb()
    monkeypatch.setattr(Image.Image, "load", no_decoding)
    monkeypatch.setattr("PIL.ImageFile.ImageFile.load", no_decoding)
    with pytest.raises(images.ImageRefused, match="million pixels"):
        images.square_avatar(data)


@pytest.mark.gen_test
async def test_an_upload_needs_its_xsrf_field(db, browser, make_user):
    alice = await log_in_alice(browser, make_user)
    body, content_type = multipart({}, {"avatar": ("me.png", "image/png", plain())})
    resp = await alice.request("POST", "/settings", body, headers={"Content-Type": content_type})
    assert resp.code == 403 and await version(db) == 0


@pytest.mark.gen_test
async def test_a_picture_upload_changes_nothing_else(db, browser, make_user):
    alice = await log_in_alice(browser, make_user)
    await alice.post("/settings", {"display_name": "Alice L.", "bio": "Down the hole", "interests": "tea"})
    await upload(alice, plain())
    row = await db.fetchone("SELECT display_name, bio FROM users WHERE username = 'alice'")
    assert (row["display_name"], row["bio"]) == ("Alice L.", "Down the hole")


# -- generated pictures -----------------------------------------------------------------------------

@pytest.mark.gen_test
async def test_everyone_without_an_upload_has_a_generated_picture(db, make_user, browser):
    alice = await log_in_alice(browser, make_user)
    await make_user("bob_smith")
    resp, image = await served(alice, "bob_smith", v=0)
    assert resp.headers["Content-Type"] == "image/png" and image.size == (256, 256)
    assert resp.headers["Cache-Control"] == "public, max-age=3600"  # initials follow the display name
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
    other, _ = await served(alice, "alice")
    assert other.body != resp.body
    assert (await alice.get("/avatars/nobody")).code == 404


def test_initials_come_from_the_display_name_else_the_username():
    assert images.initials("Alice Liddell", "alice") == "AL"
    assert images.initials("Ada Augusta King Lovelace", "ada") == "AL"
    assert images.initials("Cher", "cher") == "C"
    assert images.initials("", "bob_smith") == "BS"
    assert images.initials("李小龍", "bruce_lee") == "BL"  # the bundled font draws Latin only


def test_every_colour_gives_white_initials_aa_contrast():
    names = [f"user{i}" for i in range(2000)] + ["alice", "bob@other.example"]
    colours = {images.colour_for(name) for name in names}
    assert len(colours) > 200  # a colour of one's own, mostly
    assert min(images.contrast(c, (255, 255, 255)) for c in colours) >= 4.5


def test_the_generated_picture_shows_the_initials_on_that_colour():
    picture = images.generated("AL", images.colour_for("alice"))
    image = Image.open(io.BytesIO(picture.data)).convert("RGB")
    assert image.getpixel((3, 3)) == images.colour_for("alice")
    assert (255, 255, 255) in {colour for _, colour in image.getcolors(65536)}  # the letters


# -- where pictures appear ----------------------------------------------------------------------------

@pytest.mark.gen_test
async def test_the_api_gives_absolute_avatar_urls(app, db, make_browser, make_user, base_url, browser):
    alice = await log_in_alice(browser, make_user)
    await upload(alice, plain())
    v = await version(db)
    await db.execute("UPDATE users SET timezone = 'Europe/Rome' WHERE username = 'alice'")
    client = await register(alice, scope="profile friends:read friends:write")
    token = (await full_flow(alice, client, scope="profile friends:read friends:write"))["access_token"]
    me = (await api(alice, "/api/me", token)).json()
    assert me["avatar"] == f"{base_url}/avatars/alice?v={v}" and me["timezone"] == "Europe/Rome"

    await make_user("bob")
    await db.execute("INSERT INTO user_interests (user_id, tag) SELECT id, 'tea' FROM users")
    [suggested] = (await api(alice, "/api/people/suggestions", token)).json()["items"]
    assert suggested["avatar"] == suggested["user"]["avatar"] == f"{base_url}/avatars/bob?v=0"
    sent = (await api(alice, "/api/friends/requests", token, "POST", {"to": "bob"})).json()
    assert sent["from_avatar"] == f"{base_url}/avatars/alice?v={v}" and sent["to_avatar"] == f"{base_url}/avatars/bob?v=0"
    bob = make_browser()
    await bob.login("bob")
    await bob.post(f"/friends/requests/{sent['id']}/accept", {})
    [friend] = (await api(alice, "/api/friends", token)).json()["items"]
    assert friend["avatar"] == f"{base_url}/avatars/bob?v=0"
    assert (await api(alice, "/api/me", token)).json()["timezone"] == "Europe/Rome"


@pytest.mark.gen_test
async def test_me_has_the_instance_zone_for_someone_who_chose_none(browser, make_user):
    alice = await log_in_alice(browser, make_user)
    client = await register(alice, scope="profile")
    token = (await full_flow(alice, client, scope="profile"))["access_token"]
    assert (await api(alice, "/api/me", token)).json()["timezone"] == "UTC"


@pytest.mark.gen_test
async def test_the_actor_icon_is_the_upload(db, base_url, browser, make_user):
    alice = await log_in_alice(browser, make_user)
    await upload(alice, plain())
    v = await version(db)
    doc = (await alice.get("/users/alice", headers={"Accept": AP})).json()
    assert doc["icon"] == {"type": "Image", "url": f"{base_url}/avatars/alice?v={v}", "mediaType": "image/jpeg"}


@pytest.mark.gen_test
async def test_pages_show_faces(db, make_user, make_browser, base_url, browser):
    alice = await log_in_alice(browser, make_user)
    await make_user("bob", display_name="Bob")
    await db.execute("INSERT INTO user_interests (user_id, tag) SELECT id, 'tea' FROM users")
    await upload(alice, plain())
    mine = f'src="{base_url}/avatars/alice?v={await version(db)}"'
    assert mine in (await alice.get("/")).text  # the header
    assert mine in (await alice.get("/u/alice")).text and mine in (await alice.get("/settings")).text
    assert f'src="{base_url}/avatars/bob?v=0"' in (await alice.get("/friends")).text  # people like you
    await alice.post("/friends/requests", {"name": "bob"})
    bob = make_browser()
    await bob.login("bob")
    assert mine in (await bob.get("/friends")).text  # a request
    assert mine in (await bob.get("/")).text  # the home page's requests
    await alice.post("/friends/requests", {"name": "carol@remote.example"})
    assert f'src="{base_url}/avatars/remote/carol@remote.example"' in (await alice.get("/friends")).text
    await alice.post("/events/new", {"title": "Tea party", "start_datetime": "2031-05-01T16:00", "published": "true"})
    assert mine in (await alice.get("/events")).text and mine in (await bob.get("/events/1")).text
