"""`/settings/apps` (SPEC §2): the apps you connected; revoking one or all."""
import re

import pytest

from confirm_helpers import ask, confirm
from oauth_helpers import api, authorize_url, consent, full_flow, refresh, register
from portal_helpers import authorize_with, build_url, create_app, field, post_form


async def portal_app_used_by_bob(browser, make_browser, make_user, scopes=("profile", "friends:read")):
    """alice builds an app in the portal; bob authorizes it from the built URL
    → (bob's browser, the app's credentials, bob's tokens)."""
    await make_user("alice")
    await browser.login("alice")
    client_id, creds = await create_app(browser, name="Quokka App", scopes=scopes)
    url = field(await build_url(browser, client_id, scopes=scopes), "auth-url")
    bob = make_browser()
    await make_user("bob")
    await bob.login("bob")
    return bob, creds, await authorize_with(bob, url, creds)


@pytest.mark.gen_test
async def test_needs_login_and_xsrf(browser, make_user):
    r = await browser.get("/settings/apps")
    assert r.code == 302 and r.location.startswith("/login?next=")
    await make_user("alice")
    await browser.login("alice")
    client = await register(browser)
    tokens = await full_flow(browser, client)
    for path, body in (("/settings/apps/revoke", {"client_id": client["client_id"]}),
                       ("/settings/apps/revoke-all", {})):
        assert (await post_form(browser, path, body, xsrf=False)).code == 403, path
    assert (await api(browser, "/api/me", tokens["access_token"])).code == 200


@pytest.mark.gen_test
async def test_portal_app_appears_with_scopes_and_revoke_ends_it(browser, make_browser, make_user):
    bob, creds, tokens = await portal_app_used_by_bob(browser, make_browser, make_user)
    page = await bob.get("/settings/apps")
    assert page.code == 200 and page.headers["Cache-Control"] == "no-store"
    assert "Quokka App" in page.text and "https://app.example" in page.text
    assert "Read your profile" in page.text and "friends:read" in page.text
    # In the viewer's zone, named: the instance's (UTC) for someone who chose none.
    moment = r"\w{3} \d{1,2} \w{3} 20\d\d, \d\d:\d\d UTC"
    assert re.search(f"Authorized {moment}", page.text) and re.search(f"last used {moment}", page.text)
    assert "Quokka" not in (await browser.get("/settings/apps")).text  # alice connected nothing

    r = await confirm(bob, "/settings/apps/revoke", {"client_id": creds["client_id"]})
    assert r.code == 303 and r.location.startswith("/settings/apps")
    assert (await api(bob, "/api/me", tokens["access_token"])).code == 401
    r = await refresh(bob, creds, tokens["refresh_token"])
    assert r.code == 400 and r.json()["error"] == "invalid_grant"
    page = await bob.get("/settings/apps")
    assert "Quokka App" not in page.text and "No app can use your account" in page.text
    # The remembered consent went too: the app must ask again.
    again = await bob.get(authorize_url(creds["client_id"], scope="profile"))
    assert again.code == 200 and 'name="decision"' in again.text


@pytest.mark.gen_test
async def test_revoke_touches_only_this_user_and_this_app(browser, make_browser, make_user):
    bob, creds, bob_tokens = await portal_app_used_by_bob(browser, make_browser, make_user)
    alice_tokens = await authorize_with(browser, field(await build_url(browser, creds["client_id"]), "auth-url"),
                                        creds)
    other = await register(bob)
    other_tokens = await full_flow(bob, other)
    await confirm(bob, "/settings/apps/revoke", {"client_id": creds["client_id"]})
    assert (await api(bob, "/api/me", bob_tokens["access_token"])).code == 401
    assert (await api(browser, "/api/me", alice_tokens["access_token"])).code == 200
    assert (await api(bob, "/api/me", other_tokens["access_token"])).code == 200
    assert "Test App" in (await bob.get("/settings/apps")).text


@pytest.mark.gen_test
async def test_revoke_all(browser, make_browser, make_user):
    bob, creds, tokens = await portal_app_used_by_bob(browser, make_browser, make_user)
    other = await register(bob)
    other_tokens = await full_flow(bob, other)
    page = await bob.get("/settings/apps")
    assert "Quokka App" in page.text and "Test App" in page.text
    r = await confirm(bob, "/settings/apps/revoke-all", {})
    assert r.code == 303
    for token in (tokens["access_token"], other_tokens["access_token"]):
        assert (await api(bob, "/api/me", token)).code == 401
    assert (await refresh(bob, other, other_tokens["refresh_token"])).json()["error"] == "invalid_grant"
    assert "No app can use your account" in (await bob.get("/settings/apps")).text
    again = await consent(bob, authorize_url(other["client_id"]))
    assert again.code in (302, 303)  # asked again, then allowed by the helper


@pytest.mark.gen_test
async def test_internal_app_token_is_listed_and_revocable(browser, make_user):
    await make_user("alice")
    await browser.login("alice")
    client_id, creds = await create_app(browser, name="My Script", scopes=("profile",))
    r = await post_form(browser, f"/dev/apps/{client_id}/token", {})
    refresh_token = field(await browser.get(r.location), "refresh-token")
    assert "My Script" in (await browser.get("/settings/apps")).text
    await confirm(browser, "/settings/apps/revoke", {"client_id": client_id})
    assert (await refresh(browser, creds, refresh_token)).json()["error"] == "invalid_grant"


@pytest.mark.gen_test
async def test_revoking_an_unknown_app_is_404(browser, make_user):
    await make_user("alice")
    await browser.login("alice")
    r = await post_form(browser, "/settings/apps/revoke", {"client_id": "nope"})
    assert r.code == 404


@pytest.mark.gen_test
async def test_revoking_asks_first(browser, make_browser, make_user):
    """Revoking one app or all only asks until the confirm page's button is pressed."""
    bob, creds, tokens = await portal_app_used_by_bob(browser, make_browser, make_user)
    page = await ask(bob, "/settings/apps/revoke", {"client_id": creds["client_id"]})
    assert page.question == "Revoke Quokka App's access?" and page.cancel == "/settings/apps"
    assert page.fields == [("client_id", creds["client_id"])]
    page = await ask(bob, "/settings/apps/revoke-all", {})
    assert page.question == "Revoke every app's access?" and page.fields == []
    r = await post_form(bob, "/settings/apps/revoke-all", {"confirm": "sure"})
    assert r.code == 200 and "Revoke all" in r.text
    assert (await api(bob, "/api/me", tokens["access_token"])).code == 200
    assert "Quokka App" in (await bob.get("/settings/apps")).text
    # An app this person never connected: nothing to ask about.
    assert (await post_form(browser, "/settings/apps/revoke", {"client_id": creds["client_id"]})).code == 404
