"""The site icon (issue 16 item 8): every page links it, and `/favicon.ico`, which
browsers ask for on their own, answers with an image instead of a 404."""
import re
import struct
import xml.etree.ElementTree as ET

import pytest

PAGES = ("/", "/login", "/signup", "/events", "/no/such/page")


def icon_links(page) -> list[str]:
    return re.findall(r'<link rel="icon" href="([^"]+)"', page.text)


@pytest.mark.gen_test
async def test_every_page_links_icons_that_answer_with_images(browser):
    for path in PAGES:
        assert len(icon_links(await browser.get(path))) == 2, path
    links = icon_links(await browser.get("/login"))
    assert "/favicon.ico" in links
    for href in links:
        r = await browser.get(href)
        assert r.code == 200 and r.headers["Content-Type"].startswith("image/"), (href, r.code, r.headers)
    svg = await browser.get(next(href for href in links if ".svg" in href))
    assert svg.headers["Content-Type"] == "image/svg+xml"
    assert ET.fromstring(svg.body).tag == "{http://www.w3.org/2000/svg}svg"


@pytest.mark.gen_test
async def test_favicon_ico_is_an_icon_of_png_images(browser):
    r = await browser.get("/favicon.ico")
    assert r.code == 200 and r.headers["Content-Type"].startswith("image/"), r.headers
    reserved, kind, count = struct.unpack("<HHH", r.body[:6])
    assert (reserved, kind) == (0, 1) and count >= 2  # an icon file (not a cursor) with several sizes
    sizes = []
    for i in range(count):
        width, height, _, _, _, _, length, offset = struct.unpack("<BBBBHHII", r.body[6 + 16 * i:22 + 16 * i])
        image = r.body[offset:offset + length]
        assert image.startswith(b"\x89PNG\r\n\x1a\n") and len(image) == length
        assert struct.unpack(">II", image[16:24]) == (width, height)  # the PNG's own size agrees
        sizes.append(width)
    assert 16 in sizes and 32 in sizes
