"""`/admin` (SPEC §2): every registered app and every user; approve, disable, delete."""
import re

import pytest

from confirm_helpers import ask, confirm
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


def row(page, key: str) -> str:
    """An admin table's row for one client (or user)."""
    m = re.search(r"<tr[^>]*>((?:(?!</tr>).)*%s(?:(?!</tr>).)*)</tr>" % re.escape(key), page.text, re.S)
    assert m, key
    return m.group(1)


def cell(row: str, label: str) -> str:
    """A row's value in the column `label` (each cell names its column, for the phone layout)."""
    m = re.search(r'<td [^>]*data-label="%s">([^<]*)</td>' % re.escape(label), row)
    assert m, (label, row)
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
    assert "Test App" in listed and "rfc7591" in listed and cell(listed, "Owner") == "—"
    assert cell(listed, "Live grants") == "1" and cell(listed, "Status") == "active"
    portal = row(page, portal_id)
    assert "Portal App" in portal and "portal" in portal and cell(portal, "Owner") == "alice"
    assert cell(portal, "Live grants") == "0"
    root = row(page, "The Root")
    assert ">root</td>" in root and cell(root, "Admin") == "yes"
    assert cell(row(page, 'class="mono">alice<'), "Admin") == ""


@pytest.mark.gen_test
async def test_disable_then_enable_then_delete(browser, make_browser, make_user):
    alice = await admin_and_user(browser, make_browser, make_user)
    client = await register(alice)
    tokens = await full_flow(alice, client)
    r = await confirm(browser, "/admin/clients/disable", {"client_id": client["client_id"]})
    assert r.code == 303 and r.location == "/admin?done=disable"
    assert (await api(alice, "/api/me", tokens["access_token"])).code == 401
    listed = row(await browser.get("/admin"), client["client_id"])
    assert cell(listed, "Status") == "disabled" and cell(listed, "Live grants") == "0" and "Enable" in listed
    assert (await alice.get(authorize_url(client["client_id"]))).code == 400

    assert (await post_form(browser, "/admin/clients/approve", {"client_id": client["client_id"]})).code == 303
    assert (await api(alice, "/api/me", (await full_flow(alice, client))["access_token"])).code == 200

    assert (await confirm(browser, "/admin/clients/delete", {"client_id": client["client_id"]})).code == 303
    assert client["client_id"] not in (await browser.get("/admin")).text
    assert (await post_form(browser, "/admin/clients/delete", {"client_id": client["client_id"]})).code == 404


@pytest.mark.gen_test
async def test_disable_and_delete_ask_first_approve_does_not(browser, make_browser, make_user):
    alice = await admin_and_user(browser, make_browser, make_user)
    client = await register(alice)
    tokens = await full_flow(alice, client)
    form = {"client_id": client["client_id"]}
    for action in ("disable", "delete"):
        page = await ask(browser, f"/admin/clients/{action}", form)
        assert page.question == f"{action.title()} Test App?" and page.cancel == "/admin"
        assert page.fields == [("client_id", client["client_id"])]
    listed = row(await browser.get("/admin"), client["client_id"])
    assert cell(listed, "Status") == "active" and cell(listed, "Live grants") == "1"
    assert (await api(alice, "/api/me", tokens["access_token"])).code == 200
    assert (await post_form(browser, "/admin/clients/delete", {**form, "confirm": "yes"}, xsrf=False)).code == 403
    assert (await post_form(alice, "/admin/clients/delete", {**form, "confirm": "yes"})).code == 403  # not an admin
    assert (await post_form(browser, "/admin/clients/disable", {"client_id": "nope"})).code == 404
    assert (await post_form(browser, "/admin/clients/approve", form)).code == 303  # takes nothing away


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
