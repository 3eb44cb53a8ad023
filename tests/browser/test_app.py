"""The Fync app at /app/ (SPEC §9) in Debian's Chromium at a phone's size: installable
(manifest, icons, service worker), log in through the real consent page, friends and events
shown, offline reloads, an outbox that survives closing the tab, refusals shown, revocation
logging the app out, no sideways scrolling at 360 px, and axe-core on every view.

Each app user gets a persistent Chromium profile (as a phone keeps one); the others act
through the web pages in plain contexts."""
from __future__ import annotations

import re
import statistics
import time
from pathlib import Path

import pytest
from playwright.sync_api import expect

from conftest import CHROMIUM, CHROMIUM_ARGS, PHONE, axe_violations, no_sideways_scroll

PASSWORD = "correct horse battery"
VIEWS = ["#/friends", "#/events", "#/new", "#/notifications", "#/code"]


# -- people and their data, through the web pages (the app is only used by the app user) -----------


def xsrf(context) -> str:
    return next(c["value"] for c in context.cookies() if c["name"] == "_xsrf")


def form(context, path: str, **fields) -> None:
    """POST a web form as the person of this context (cookies and _xsrf), like its page would."""
    if not any(c["name"] == "_xsrf" for c in context.cookies()):
        context.request.get("/login")
    r = context.request.post(path, form={"_xsrf": xsrf(context), **fields}, max_redirects=0)
    assert r.status in (200, 302, 303), f"{path}: {r.status} {r.text()[:500]}"


def sign_up(context, name: str) -> None:
    form(context, "/signup", username=name, display_name=name.title(), password=PASSWORD)


def web_person(chromium, server, name: str):
    context = chromium.new_context(base_url=server.base)
    sign_up(context, name)
    return context


def request_ids(context, direction: str = "cancel") -> list[int]:
    html = context.request.get("/friends").text()
    return [int(i) for i in re.findall(rf'/friends/requests/(\d+)/{direction}"', html)]


def add_event(context, title: str, start: str = "2031-06-21T12:00") -> None:
    form(context, "/events/new", title=title, start_datetime=start, place_name="Riverside park",
         description="Bring something to share.", tags="outdoors", published="true")


# -- the app user: a phone's persistent profile, logged in to the app ------------------------------


class AppUser:
    def __init__(self, playwright, server, profile: Path, name: str):
        self.name, self.server = name, server
        self.context = playwright.chromium.launch_persistent_context(
            str(profile), executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS,
            viewport=PHONE, base_url=server.base)
        self.context.set_default_timeout(10_000)
        sign_up(self.context, name)
        self.page = self.context.pages[0] if self.context.pages else self.context.new_page()

    def log_in(self) -> None:
        page = self.page
        page.goto("/app/")
        page.get_by_role("button", name=re.compile("^Log in with")).click()
        expect(page.locator("h1")).to_contain_text("Connect Fync app?")
        expect(page.locator("main")).to_contain_text("own app")
        page.get_by_role("button", name="Allow").click()
        page.wait_for_url(re.compile(r"/app/#/friends$"))
        expect(page.get_by_role("heading", name="Friends", level=1)).to_be_visible()
        page.wait_for_function("() => navigator.serviceWorker.controller !== null")

    def open(self, hash_: str = "#/friends"):
        """A new tab on the app (the old one may have been closed)."""
        self.page = self.context.new_page()
        self.page.goto(f"/app/{hash_}")
        return self.page

    def stored(self, store: str) -> list:
        """The keys of one of the app's IndexedDB stores, read in the page."""
        return self.page.evaluate("""store => new Promise((resolve, reject) => {
            const open = indexedDB.open("fync-app");
            open.onsuccess = () => {
              const req = open.result.transaction(store).objectStore(store).getAllKeys();
              req.onsuccess = () => { open.result.close(); resolve(req.result); };
              req.onerror = () => reject(req.error);
            };
            open.onerror = () => reject(open.error);
        })""", store)


@pytest.fixture
def app_user(playwright, server, names, tmp_path):
    made = []

    def make(stem: str = "amy", log_in: bool = True) -> AppUser:
        user = AppUser(playwright, server, tmp_path / f"profile{len(made)}", names(stem))
        made.append(user)
        if log_in:
            user.log_in()
        return user
    yield make
    for user in made:
        user.context.close()


def person(chromium, server, names, stem: str):
    """Someone using the web pages → (their context, their name)."""
    name = names(stem)
    return web_person(chromium, server, name), name


# -- installable ---------------------------------------------------------------------------------------


def test_manifest_icons_and_service_worker(app_user, shot):
    amy = app_user(log_in=False)
    page = amy.page
    page.goto("/app/")
    href = page.locator('link[rel="manifest"]').get_attribute("href")
    manifest = page.evaluate("href => fetch(href).then(r => r.json())", href)
    assert manifest["start_url"] == manifest["scope"] == "/app/" and manifest["display"] == "standalone"
    assert manifest["name"] and manifest["short_name"] and manifest["theme_color"] and manifest["background_color"]
    decoded = page.evaluate("""icons => Promise.all(icons.map(async icon => {
        const bitmap = await createImageBitmap(await (await fetch(icon.src)).blob());
        return [icon.sizes, icon.purpose, bitmap.width, bitmap.height];
    }))""", [{**i, "src": "/app/" + i["src"]} for i in manifest["icons"]])
    assert all(sizes == f"{w}x{h}" for sizes, _, w, h in decoded), decoded
    assert {(w, purpose) for _, purpose, w, _ in decoded} >= {(192, "any"), (512, "any"), (512, "maskable")}
    page.wait_for_function("() => navigator.serviceWorker.controller !== null")
    assert page.evaluate("navigator.serviceWorker.controller.scriptURL").endswith("/app/sw.js")
    page.reload()
    assert page.evaluate("navigator.serviceWorker.controller !== null")  # it controls /app/ from the start
    assert page.evaluate("performance.getEntriesByType('navigation')[0].workerStart") > 0
    caches = page.evaluate("caches.keys()")
    assert any(re.fullmatch(r"fync-shell-[0-9a-f]{16}", c) for c in caches), caches
    expect(page.get_by_role("button", name=re.compile("^Log in with"))).to_be_visible()
    shot(page, "app-login")
    assert axe_violations(page) == [], "the login view"


# -- logged in: friends and events, online and offline -------------------------------------------


def test_login_then_friends_and_events_offline_too(app_user, chromium, server, names, shot):
    amy = app_user()
    bob, bob_name = person(chromium, server, names, "bob")
    cat, cat_name = person(chromium, server, names, "cat")
    form(cat, "/friends/requests", name=amy.name)          # cat asks, amy accepts on the web: a friend
    form(amy.context, f"/friends/requests/{request_ids(amy.context, 'accept')[0]}/accept")
    form(bob, "/friends/requests", name=amy.name)          # bob asks amy
    add_event(bob, f"Picnic {bob_name}")
    page = amy.page
    page.reload()
    expect(page.locator("main")).to_contain_text(f"{bob_name}@")                # the request
    expect(page.get_by_role("button", name=f"Accept {bob_name}@", exact=False)).to_be_visible()
    expect(page.get_by_role("region", name="Your friends")).to_contain_text(cat_name.title())
    shot(page, "app-friends")
    page.get_by_role("link", name="Events").click()
    expect(page.locator("main")).to_contain_text(f"Picnic {bob_name}")
    page.get_by_role("link", name=f"Picnic {bob_name}").click()
    expect(page.locator("h1")).to_have_text(f"Picnic {bob_name}")
    expect(page.locator("main")).to_contain_text("Riverside park")
    shot(page, "app-event")

    amy.context.set_offline(True)
    page.goto("/app/#/friends")  # a reload with no network at all
    expect(page.locator("#net")).to_contain_text("Offline")
    expect(page.get_by_role("region", name="Your friends")).to_contain_text(cat_name.title())
    expect(page.locator("main")).to_contain_text(f"{bob_name}@")
    shot(page, "app-offline-friends")
    page.get_by_role("link", name="Events").click()
    expect(page.locator("main")).to_contain_text(f"Picnic {bob_name}")
    page.get_by_role("link", name=f"Picnic {bob_name}").click()
    expect(page.locator("main")).to_contain_text("Riverside park")
    amy.context.set_offline(False)


def test_the_service_worker_never_keeps_api_answers(app_user):
    amy = app_user()
    amy.page.get_by_role("link", name="Events").click()
    amy.page.get_by_role("link", name="My code").click()
    expect(amy.page.locator(".qr img")).to_be_visible()
    urls = amy.page.evaluate("""async () => {
        const all = [];
        for (const name of await caches.keys()) {
          for (const req of await (await caches.open(name)).keys()) all.push(new URL(req.url).pathname);
        }
        return all;
    }""")
    assert urls and not [u for u in urls if u.startswith(("/api", "/oauth"))], urls
    assert set(amy.stored("cache")) >= {"friends", "requests", "events", "me"}


def test_an_accept_made_offline_is_sent_after_the_tab_closed(app_user, chromium, server, names, shot):
    amy = app_user()
    bob, bob_name = person(chromium, server, names, "bob")
    form(bob, "/friends/requests", name=amy.name)
    page = amy.page
    page.reload()
    accept = page.get_by_role("button", name=re.compile(f"^Accept {bob_name}@"))
    expect(accept).to_be_visible()
    amy.context.set_offline(True)
    accept.click()
    expect(page.get_by_role("region", name="Waiting to be sent")).to_contain_text(f"Accept {bob_name}@")
    expect(page.locator("main")).to_contain_text("Waiting to be sent")
    shot(page, "app-offline-waiting")
    assert len(amy.stored("outbox")) == 1
    page.close()                                  # the person puts the phone away
    assert request_ids(bob) != []                 # nothing reached the server yet
    amy.context.set_offline(False)
    page = amy.open("#/friends")                  # and opens the app again later
    expect(page.get_by_role("region", name="Your friends")).to_contain_text(bob_name.title())
    expect(page.locator("#outbox")).to_be_empty()
    assert request_ids(bob) == [] and f"{amy.name}@" in bob.request.get("/friends").text()


def test_background_sync_sends_the_outbox_with_no_app_page_open(app_user, chromium, server, names):
    """The service worker's `sync` event sends what waits, no page of the app needed. Chromium
    fires it itself when the network returns; if it has not within 5 s, the test fires it
    through the DevTools protocol: either way the worker alone does the sending."""
    amy = app_user()
    bob, bob_name = person(chromium, server, names, "bob")
    form(bob, "/friends/requests", name=amy.name)
    page = amy.page
    page.reload()
    accept = page.get_by_role("button", name=re.compile(f"^Accept {bob_name}@"))
    expect(accept).to_be_visible()
    cdp = amy.context.new_cdp_session(page)
    registrations = []
    cdp.on("ServiceWorker.workerRegistrationUpdated", lambda e: registrations.extend(e["registrations"]))
    cdp.send("ServiceWorker.enable")
    amy.context.set_offline(True)
    accept.click()
    expect(page.get_by_role("region", name="Waiting to be sent")).to_be_visible()
    assert page.evaluate("() => navigator.serviceWorker.ready.then(r => r.sync.getTags())") == ["fync-outbox"]
    page.goto("about:blank")                      # no page of the app is open any more
    amy.context.set_offline(False)
    deadline = time.monotonic() + 5
    while request_ids(bob) and time.monotonic() < deadline:
        time.sleep(0.1)
    if request_ids(bob):
        scope = next(r for r in registrations if r["scopeURL"] == f"{server.base}/app/")
        cdp.send("ServiceWorker.dispatchSyncEvent", {"origin": server.base, "registrationId": scope["registrationId"],
                                                     "tag": "fync-outbox", "lastChance": False})
        deadline = time.monotonic() + 5
        while request_ids(bob) and time.monotonic() < deadline:
            time.sleep(0.1)
    assert request_ids(bob) == [] and f"{amy.name}@" in bob.request.get("/friends").text()


def test_a_refused_queued_action_is_shown_until_dismissed(app_user, chromium, server, names, shot):
    amy = app_user()
    dan, dan_name = person(chromium, server, names, "dan")
    form(dan, "/friends/requests", name=amy.name)
    page = amy.page
    page.reload()
    accept = page.get_by_role("button", name=re.compile(f"^Accept {dan_name}@"))
    expect(accept).to_be_visible()
    amy.context.set_offline(True)
    accept.click()
    expect(page.get_by_role("region", name="Waiting to be sent")).to_be_visible()
    form(dan, f"/friends/requests/{request_ids(dan)[0]}/cancel")   # dan withdraws meanwhile
    amy.context.set_offline(False)
    refused = page.get_by_role("alert", name=re.compile("^Not done"))
    expect(refused).to_contain_text(f"Accept {dan_name}@")
    expect(refused).to_contain_text("The server said:")
    shot(page, "app-refused")
    assert axe_violations(page) == [], "a refused action"
    page.reload()                                   # still there after a reload: never dropped silently
    expect(page.get_by_role("alert", name=re.compile("^Not done"))).to_be_visible()
    page.get_by_role("button", name="Dismiss").click()
    expect(page.get_by_role("alert")).to_have_count(0)
    assert amy.stored("outbox") == []


def test_add_a_friend_and_create_an_event_from_the_app(app_user, chromium, server, names):
    amy = app_user()
    eve, eve_name = person(chromium, server, names, "eve")
    page = amy.page
    page.get_by_label("Name or name@domain").fill(eve_name)
    page.get_by_role("button", name="Send request").click()
    expect(page.get_by_role("region", name="Requests you sent")).to_contain_text(f"{eve_name}@")
    page.get_by_label("Name or name@domain").fill("nobody-by-that-name")
    page.get_by_role("button", name="Send request").click()
    expect(page.get_by_role("alert", name=re.compile("^Not done"))).to_contain_text("nobody-by-that-name")

    page.get_by_role("link", name="New event").click()
    page.get_by_label("Title").fill(f"Choir {amy.name}")
    page.get_by_label("Starts").fill("2031-07-01T19:30")
    page.get_by_label("Place").fill("Town hall")
    page.get_by_role("button", name="Create event").click()
    expect(page.locator("main")).to_contain_text(f"Choir {amy.name}")
    events = page.evaluate("fetch('/api/events?limit=100').then(r => r.json())")["items"]
    mine = [e for e in events if e["title"] == f"Choir {amy.name}"]
    assert len(mine) == 1 and mine[0]["owner"] == amy.name
    zone = page.evaluate("Intl.DateTimeFormat().resolvedOptions().timeZone")
    local = page.evaluate("([t, z]) => new Intl.DateTimeFormat('sv-SE', {timeZone: z, dateStyle: 'short', "
                          "timeStyle: 'short'}).format(new Date(t * 1000))", [mine[0]["start_datetime"], zone])
    assert local == "2031-07-01 19:30"


def test_an_event_created_offline_is_created_once_back_online(app_user):
    amy = app_user()
    page = amy.page
    amy.context.set_offline(True)
    page.get_by_role("link", name="New event").click()
    page.get_by_label("Title").fill(f"Offline picnic {amy.name}")
    page.get_by_label("Starts").fill("2031-08-01T12:00")
    page.get_by_role("button", name="Create event").click()
    expect(page.get_by_role("region", name="Waiting to be sent")).to_contain_text(f"Offline picnic {amy.name}")
    amy.context.set_offline(False)
    expect(page.locator("#outbox")).to_be_empty()
    page.reload()
    expect(page.locator("main")).to_contain_text(f"Offline picnic {amy.name}")
    events = page.evaluate("fetch('/api/events?limit=100').then(r => r.json())")["items"]
    assert [e["title"] for e in events].count(f"Offline picnic {amy.name}") == 1


# -- logged out ------------------------------------------------------------------------------------


def test_revoking_the_app_in_settings_logs_it_out(app_user, shot):
    amy = app_user()
    page = amy.page
    page.get_by_role("link", name="Events").click()
    assert "tokens" in amy.stored("session") and amy.stored("cache")
    settings = amy.context.new_page()
    settings.goto("/settings/apps")
    card = settings.locator(".card", has=settings.get_by_role("heading", name="Fync app"))
    card.get_by_role("button", name="Revoke access").click()
    settings.locator("form.confirm").get_by_role("button").click()   # "are you sure?"
    expect(settings.locator("main")).not_to_contain_text("Fync app")
    settings.close()
    page.get_by_role("link", name="Friends").click()
    expect(page.get_by_role("button", name=re.compile("^Log in with"))).to_be_visible()
    expect(page.locator("main")).to_contain_text("access was ended")
    expect(page.locator("#tabs")).to_be_hidden()
    shot(page, "app-revoked")
    assert amy.stored("session") == [] and amy.stored("cache") == [] and amy.stored("outbox") == []
    amy.log_in()  # and it can log in again (consent is asked again)


def test_logging_out_forgets_the_account(app_user):
    amy = app_user()
    page = amy.page
    page.get_by_role("link", name="My code").click()
    page.get_by_role("button", name="Log out").click()
    expect(page.get_by_role("button", name=re.compile("^Log in with"))).to_be_visible()
    assert amy.stored("session") == [] and amy.stored("cache") == []


# -- phone layout and accessibility ------------------------------------------------------------------


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_every_view_fits_360px_and_passes_axe(app_user, chromium, server, names, shot, scheme):
    amy = app_user()
    fay, fay_name = person(chromium, server, names, "fayelongname")
    form(fay, "/friends/requests", name=amy.name)
    title = f"A title long enough to need wrapping on the narrowest phone anyone carries {fay_name}"
    add_event(fay, title)
    page = amy.page
    page.emulate_media(color_scheme=scheme)
    page.set_viewport_size({"width": 360, "height": 740})
    event_id = page.evaluate("t => fetch('/api/events?limit=100').then(r => r.json())"
                             ".then(p => p.items.find(e => e.title === t).id)", title)
    for view in VIEWS + [f"#/events/{event_id}"]:
        page.goto(f"/app/{view}")
        expect(page.locator("main h1")).to_be_visible()
        page.wait_for_load_state("networkidle")
        assert no_sideways_scroll(page), f"{view} scrolls sideways at 360 px"
        assert axe_violations(page) == [], f"{view} ({scheme})"
    shot(page, f"app-event-360-{scheme}")


def test_my_code_shows_the_qr_of_my_address(app_user, server, shot):
    amy = app_user()
    page = amy.page
    page.set_viewport_size({"width": 390, "height": 844})
    page.get_by_role("link", name="My code").click()
    image = page.get_by_role("img", name=f"QR code of {server.base}/@{amy.name}")
    expect(image).to_be_visible()
    assert page.evaluate("img => img.complete && img.naturalWidth > 0", image.element_handle())
    expect(page.locator("main")).to_contain_text(f"{server.base}/@{amy.name}")
    shot(page, "app-my-code")
    amy.context.set_offline(True)                    # in person, maybe with no signal
    page.reload()
    image = page.get_by_role("img", name=f"QR code of {server.base}/@{amy.name}")
    expect(image).to_be_visible()
    page.wait_for_function("img => img.complete", arg=image.element_handle())
    assert page.evaluate("img => img.naturalWidth > 0", image.element_handle())
    amy.context.set_offline(False)


# -- measured: the first render from the service worker's cache ---------------------------------------


def test_first_render_from_the_service_worker_cache(app_user, tmp_path):
    amy = app_user()
    page = amy.page
    page.reload()
    expect(page.get_by_role("region", name="Your friends")).to_be_visible()
    times = []
    for _ in range(5):
        page.reload()
        page.wait_for_function("() => performance.getEntriesByName('fync-first-render').length > 0")
        assert page.evaluate("performance.getEntriesByType('navigation')[0].workerStart") > 0
        times.append(page.evaluate("performance.getEntriesByName('fync-first-render')[0].startTime"))
    median = statistics.median(times)
    (tmp_path / "first-render.txt").write_text(f"median {median:.0f} ms of {[round(t) for t in times]}\n")
    print(f"\nfirst render from the service worker cache: median {median:.0f} ms of {[round(t) for t in times]}")
    assert median < 3000
