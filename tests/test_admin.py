"""`/admin` (SPEC §2): every registered app and every user; approve, disable, delete."""
import re

import pytest

from oauth_helpers import api, authorize_url, full_flow, register
from portal_helpers import create_app, post_form


async def admin_and_user(browser, make_browser, make_user):
    """root (admin) logged in on `browser`; alice (not admin) on the browser returned."""
    await make_user("root", admin=True, display_name="The Root")
    await make_user("alice")
    await browser.login("root")
    alice = make_browser()
    await alice.login("alice")
    return alice


def row(page, client_id: str) -> str:
    """The admin table's row for one client."""
    m = re.search(r"<tr>((?:(?!</tr>).)*%s(?:(?!</tr>).)*)</tr>" % re.escape(client_id), page.text, re.S)
    assert m, client_id
    return m.group(1)


@pytest.mark.gen_test
async def test_only_admins(browser, make_browser, make_user):
    assert (await browser.get("/admin")).location.startswith("/login?next=")
    alice = await admin_and_user(browser, make_browser, make_user)
    client = await register(alice)
    r = await alice.get("/admin")
    assert r.code == 403 and client["client_id"] not in r.text
    for action in ("approve", "disable", "delete"):
        r = await post_form(alice, f"/admin/clients/{action}", {"client_id": client["client_id"]})
        assert r.code == 403, action
    assert (await full_flow(alice, client))["access_token"]  # nothing happened to it


@pytest.mark.gen_test
async def test_every_post_needs_xsrf(browser, make_browser, make_user):
    alice = await admin_and_user(browser, make_browser, make_user)
    client = await register(alice)
    for action in ("approve", "disable", "delete"):
        r = await post_form(browser, f"/admin/clients/{action}", {"client_id": client["client_id"]}, xsrf=False)
        assert r.code == 403, action
    assert "active" in row(await browser.get("/admin"), client["client_id"])


@pytest.mark.gen_test
async def test_lists_every_client_with_owner_source_and_live_grants(browser, make_browser, make_user):
    alice = await admin_and_user(browser, make_browser, make_user)
    open_client = await register(alice)  # openly registered: no owner
    await full_flow(alice, open_client)
    portal_id, _ = await create_app(alice, name="Portal App")
    page = await browser.get("/admin")
    assert page.code == 200 and page.headers["Cache-Control"] == "no-store"
    listed = row(page, open_client["client_id"])
    assert "Test App" in listed and "rfc7591" in listed and "—" in listed
    assert re.search(r"<td>1</td>", listed) and "active" in listed
    portal = row(page, portal_id)
    assert "Portal App" in portal and "portal" in portal and "alice" in portal and "<td>0</td>" in portal
    assert "The Root" in page.text and re.search(r"root</td><td>The Root</td><td>yes", page.text)


@pytest.mark.gen_test
async def test_disable_then_enable_then_delete(browser, make_browser, make_user):
    alice = await admin_and_user(browser, make_browser, make_user)
    client = await register(alice)
    tokens = await full_flow(alice, client)
    r = await post_form(browser, "/admin/clients/disable", {"client_id": client["client_id"]})
    assert r.code == 303 and r.location == "/admin?done=disable"
    assert (await api(alice, "/api/me", tokens["access_token"])).code == 401
    listed = row(await browser.get("/admin"), client["client_id"])
    assert "disabled" in listed and "<td>0</td>" in listed and "Enable" in listed
    assert (await alice.get(authorize_url(client["client_id"]))).code == 400

    assert (await post_form(browser, "/admin/clients/approve", {"client_id": client["client_id"]})).code == 303
    assert (await api(alice, "/api/me", (await full_flow(alice, client))["access_token"])).code == 200

    assert (await post_form(browser, "/admin/clients/delete", {"client_id": client["client_id"]})).code == 303
    assert client["client_id"] not in (await browser.get("/admin")).text
    assert (await post_form(browser, "/admin/clients/delete", {"client_id": client["client_id"]})).code == 404


@pytest.mark.gen_test
@pytest.mark.parametrize("config_overrides", [{("oauth", "registration"): "approval"}])
async def test_approval_mode_pending_until_approved(browser, make_browser, make_user):
    alice = await admin_and_user(browser, make_browser, make_user)
    client = await register(alice)
    portal_id, _ = await create_app(alice)
    page = await browser.get("/admin")
    for client_id in (client["client_id"], portal_id):
        listed = row(page, client_id)
        assert "pending" in listed and "Approve" in listed
    r = await alice.get(authorize_url(client["client_id"]))
    assert r.code == 400 and r.location is None
    r = await post_form(browser, "/admin/clients/approve", {"client_id": client["client_id"]})
    assert r.code == 303
    assert "active" in row(await browser.get("/admin"), client["client_id"])
    tokens = await full_flow(alice, client)
    assert (await api(alice, "/api/me", tokens["access_token"])).code == 200
    assert "pending" in row(await browser.get("/admin"), portal_id)  # approving one approves no other
