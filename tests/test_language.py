"""Pages in the person's language (issue 19 item 7): the language chosen in /settings,
else the browser's Accept-Language, else English; Italian translated in full. Also the
words written outside a page in that language: the password reset mail and the
notifications. The API stays English (its messages are for developers)."""
from __future__ import annotations

import html

import pytest

from gancio_like import languages, timezones
from gancio_like.models import Suggestion, User
from gancio_like.services import accounts, notification_texts as texts, notify, suggestions
from test_password_reset import account, config_overrides, forgot, smtp  # noqa: F401 (fixtures)

ITALIAN = {"Accept-Language": "it-IT,it;q=0.9,en;q=0.5"}


def text_of(resp) -> str:
    """The page as a reader sees its words (translated text is HTML-escaped: d&#x27;amicizia)."""
    return html.unescape(resp.text)


async def saved_language(db, username: str) -> str:
    return await db.fetchval("SELECT locale FROM users WHERE username = ?", (username,))


@pytest.mark.gen_test
async def test_accept_language_italian_gives_italian_pages(browser):
    resp = await browser.get("/", headers=ITALIAN)
    assert "Accept-Language" in resp.headers.get_list("Vary")  # caches keep one copy per language
    home = text_of(resp)
    assert '<html lang="it">' in home
    assert "Accedi" in home and "Crea un account" in home and "Vai al contenuto" in home
    assert "Log in" not in home
    login = text_of(await browser.get("/login", headers={"Accept-Language": "it"}))
    assert "Password dimenticata?" in login and "Nome utente" in login


@pytest.mark.gen_test
async def test_an_unknown_or_missing_language_is_english(browser):
    for headers in ({}, {"Accept-Language": "fr-FR,fr;q=0.9"}, {"Accept-Language": "xx"},
                    {"Accept-Language": "*"}, {"Accept-Language": "it;q=nonsense,;;,"},
                    {"Accept-Language": "x" * 2000}):
        page = text_of(await browser.get("/login", headers=headers))
        assert '<html lang="en">' in page and "Forgot your password?" in page, headers


@pytest.mark.gen_test
async def test_english_first_in_the_header_wins_over_italian_later(browser):
    page = text_of(await browser.get("/login", headers={"Accept-Language": "en-GB,it;q=0.8"}))
    assert '<html lang="en">' in page and "Log in" in page


@pytest.mark.gen_test
async def test_the_saved_choice_beats_the_header(browser, make_user, db):
    await make_user("alice")
    await browser.login("alice")
    assert (await browser.post("/settings", profile(locale="en"), headers=ITALIAN)).code == 303
    assert await saved_language(db, "alice") == "en"
    page = text_of(await browser.get("/friends", headers=ITALIAN))
    assert '<html lang="en">' in page and "Add a friend" in page

    assert (await browser.post("/settings", profile(locale="it"))).code == 303
    for headers in ({}, {"Accept-Language": "en-US,en;q=0.9"}):
        page = text_of(await browser.get("/friends", headers=headers))
        assert '<html lang="it">' in page and "Aggiungi un amico" in page, headers

    assert (await browser.post("/settings", profile(locale=""))).code == 303  # Automatic
    assert await saved_language(db, "alice") == ""
    assert "Aggiungi un amico" in text_of(await browser.get("/friends", headers=ITALIAN))
    assert "Add a friend" in text_of(await browser.get("/friends"))


def profile(**fields) -> dict:
    return {"display_name": "Alice", "bio": "", "interests": "", **fields}


@pytest.mark.gen_test
async def test_settings_show_the_choice_and_refuse_a_bad_one_changing_nothing(browser, make_user, db):
    await make_user("alice")
    await browser.login("alice")
    page = text_of(await browser.get("/settings"))
    assert '<select name="locale"' in page and "Automatic (from your browser)" in page
    assert '<option value="it" lang="it">Italiano</option>' in page
    assert (await browser.post("/settings", profile(locale="it"))).code == 303
    assert '<option value="it" lang="it" selected>Italiano</option>' in (await browser.get("/settings")).text
    for bad in ("fr", "IT", "it_IT", "../it", "en-US", "x" * 5000):
        resp = await browser.post("/settings", {**profile(locale=bad), "display_name": "Mallory"})
        assert resp.code == 400, bad
        assert "lingua: scegline una dall'elenco" in text_of(resp), bad  # the error in the page's language
    assert await db.fetchval("SELECT display_name || ' ' || locale FROM users WHERE username = 'alice'") == "Alice it"
    resp = await browser.post("/settings", profile(locale="klingon"), headers=ITALIAN)
    assert resp.code == 400


@pytest.mark.gen_test
async def test_a_form_without_the_field_leaves_the_language_alone(app, make_user, db):
    alice = await make_user("alice")
    await accounts.update_profile(app.db, alice, "A", "", "", locale="it")
    await accounts.update_profile(app.db, alice, "B", "", "")
    assert await saved_language(db, "alice") == "it"
    with pytest.raises(Exception, match="language: choose one from the list"):
        await accounts.update_profile(app.db, alice, "C", "", "", locale="de")
    assert await db.fetchval("SELECT display_name FROM users WHERE id = ?", (alice,)) == "B"


@pytest.mark.gen_test
async def test_italian_pages_name_days_and_months_in_italian(browser, make_user):
    await make_user("alice")
    await browser.login("alice")
    resp = await browser.post("/events/new", {"title": "Concerto", "start_datetime": "2030-06-04T14:00",
                                              "published": "true"})
    assert resp.code in (302, 303), resp.text
    page = text_of(await browser.get(resp.location, headers=ITALIAN))
    assert "mar 4 giu 2030, 14:00 UTC" in page  # the instance's zone in tests
    assert "Tue 4 Jun 2030, 14:00 UTC" in (await browser.get(resp.location)).text


def test_dates_and_plurals_through_the_catalogs():
    italian = languages.translator("it")
    assert timezones.local_text(1906804800, "Europe/Rome", italian.gettext) == "mar 4 giu 2030, 14:00 CEST"
    assert timezones.local_text(1906804800, "Europe/Rome") == "Tue 4 Jun 2030, 14:00 CEST"
    user = User(1, "bob", "", "", False, 0)
    one = Suggestion(user=user, score=2, shared_interests=("jazz",), mutual_friends=1)
    many = Suggestion(user=user, score=5, shared_interests=("go", "jazz"), mutual_friends=3)
    assert suggestions.reasons(one, italian.ngettext) == ["1 interesse in comune: jazz", "1 amico in comune"]
    assert suggestions.reasons(many, italian.ngettext) == ["2 interessi in comune: go, jazz", "3 amici in comune"]
    assert suggestions.reasons(many) == ["2 shared interests: go, jazz", "3 mutual friends"]
    assert languages.translator("").gettext("Log in") == "Log in" == languages.translator("xx").gettext("Log in")


@pytest.mark.gen_test(timeout=30)
async def test_the_reset_mail_is_in_the_persons_language(app, browser, make_user, db, smtp):
    await account(make_user, db, "alice", "alice@example.org")
    await account(make_user, db, "bob", "bob@example.org")
    await account(make_user, db, "carol", "carol@example.org")
    await db.execute("UPDATE users SET locale = 'it' WHERE username = 'alice'")
    await db.execute("UPDATE users SET locale = 'en' WHERE username = 'carol'")
    await forgot(app, browser, "alice")  # chose Italian: Italian, from an English page too
    await browser.request("POST", "/password/forgot", {"login": "bob"}, headers=ITALIAN)  # no choice: the form's
    await browser.request("POST", "/password/forgot", {"login": "carol"}, headers=ITALIAN)  # chose English
    await app.background.drain(30)
    mails = {m["To"]: m for m in smtp.inbox.messages}
    for to in ("alice@example.org", "bob@example.org"):
        assert mails[to]["Subject"].startswith("Reimposta la tua password su ")
        assert mails[to].get_content().startswith("Ciao ") and "entro un'ora" in mails[to].get_content()
    assert mails["carol@example.org"]["Subject"].startswith("Reset your password on ")
    assert "within an hour" in mails["carol@example.org"].get_content()


@pytest.mark.gen_test
async def test_notifications_in_the_readers_language_and_the_api_in_english(app, browser, make_browser,
                                                                            make_user, db):
    await make_user("alice", display_name="Alice")
    await make_user("bob", display_name="Bob")
    bob = make_browser()
    await bob.login("bob")
    assert (await bob.post("/friends/requests", {"name": "alice"})).code == 303
    await browser.login("alice")
    page = text_of(await browser.get("/notifications", headers=ITALIAN))
    assert "Nuova richiesta d'amicizia" in page and "vuole fare amicizia con te." in page
    assert "New friend request" in (await browser.get("/notifications")).text
    # A push has no browser to ask: the reader's saved choice, else English.
    alice = await db.fetchval("SELECT id FROM users WHERE username = 'alice'")
    items, _after = await notify.list_notifications(app.db, app.cursors, app.cfg.domain, alice, 10, None)
    for language, title in (("it", "Nuova richiesta d'amicizia"), ("", "New friend request")):
        ctx = await texts.context(app.db, items, app.notification_types, "Europe/Rome", language)
        assert texts.text(items[0], ctx).title == title


@pytest.mark.gen_test
async def test_errors_on_pages_are_translated_and_the_api_stays_english(browser, http_client, base_url):
    resp = await browser.post("/login", {"username": "nobody", "password": "wrong wrong"}, headers=ITALIAN)
    assert resp.code == 401 and "nome utente o password errati" in text_of(resp)
    missing = await browser.get("/password/reset?token=nope", headers=ITALIAN)
    assert missing.code == 400 and "questo link è scaduto o è già stato usato" in text_of(missing)
    nowhere = await browser.get("/no/such/place", headers=ITALIAN)
    assert nowhere.code == 404 and "pagina inesistente" in text_of(nowhere)
    api = await http_client.fetch(base_url + "/api/events?past=maybe", headers=ITALIAN, raise_error=False)
    assert api.code == 400 and "past must be true or false" in api.body.decode()
