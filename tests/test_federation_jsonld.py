"""Our actors as a JSON-LD processor reads them (SPEC §6): Fedify and the software built
on it expand documents against their `@context` and keep only what it defines, so a
term the context leaves out (such as `manuallyApprovesFollowers`, which ActivityStreams'
own context does not define) is lost to them. pyld expands here, with the context
documents served from tests/fixtures/jsonld, never fetched."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from pyld import jsonld


AP = "application/activity+json"
AS = "https://www.w3.org/ns/activitystreams#"
SEC = "https://w3id.org/security#"
FIXTURES = Path(__file__).parent / "fixtures" / "jsonld"
CONTEXTS = {"https://www.w3.org/ns/activitystreams": "activitystreams.jsonld",
            "https://w3id.org/security/v1": "security-v1.jsonld"}


def local_contexts(url: str, options=None) -> dict:
    """pyld's document loader: the two contexts from local copies, anything else an error."""
    if url not in CONTEXTS:
        raise AssertionError(f"the actor names a context the test has no copy of: {url}")
    return {"contextUrl": None, "documentUrl": url, "contentType": "application/ld+json",
            "document": json.loads((FIXTURES / CONTEXTS[url]).read_text())}


def expand(document: dict) -> dict:
    [node] = jsonld.expand(document, {"documentLoader": local_contexts})
    return node


def undefined_terms(node) -> list[str]:
    """Keys anywhere in an expanded document that no context defined: ActivityStreams'
    context maps them to blank-node properties (`"@vocab": "_:"`), others drop them."""
    if isinstance(node, list):
        return [key for item in node for key in undefined_terms(item)]
    if not isinstance(node, dict):
        return []
    return [key for key, value in node.items() if key.startswith("_:")] + undefined_terms(list(node.values()))


@pytest.mark.gen_test
async def test_every_actor_term_survives_expansion(browser, make_user, db, base_url):
    user_id = await make_user("alice", display_name="Alice A")
    await db.execute("UPDATE users SET bio = ? WHERE id = ?", ("likes <b>tea</b>\nand cake", user_id))
    doc = (await browser.get("/users/alice", headers={"Accept": AP})).json()
    node = expand(doc)
    url = f"{base_url}/users/alice"
    assert undefined_terms(node) == []
    assert node["@id"] == url and node["@type"] == [AS + "Person"]
    assert node[AS + "manuallyApprovesFollowers"] == [{"@value": True}]
    assert node["http://www.w3.org/ns/ldp#inbox"] == [{"@id": f"{url}/inbox"}]
    for which in ("outbox", "followers", "following"):
        assert node[AS + which] == [{"@id": f"{url}/{which}"}]
    assert node[AS + "summary"] == [{"@value": "<p>likes &lt;b&gt;tea&lt;/b&gt;<br>and cake</p>"}]
    assert node[AS + "icon"] == [{"@type": [AS + "Image"], AS + "url": [{"@id": f"{base_url}/avatars/alice?v=0"}],
                                  AS + "mediaType": [{"@value": "image/png"}]}]
    [key] = node[SEC + "publicKey"]
    assert key["@id"] == f"{url}#main-key" and key[SEC + "owner"] == [{"@id": url}]
    assert key[SEC + "publicKeyPem"] == [{"@value": doc["publicKey"]["publicKeyPem"]}]
    assert node[AS + "endpoints"][0][AS + "sharedInbox"] == [{"@id": f"{base_url}/inbox"}]
    # Every term of the compact document is still there, as an IRI of its vocabulary.
    assert len(node) == len(doc) - 1  # less @context; id and type became @id and @type


@pytest.mark.gen_test
async def test_the_icon_answers_with_the_image_it_announces(browser, make_user):
    """Everyone has a picture (a generated one until they upload): the `icon` URL serves it."""
    await make_user("alice")
    doc = (await browser.get("/users/alice", headers={"Accept": AP})).json()
    icon = await browser.get(doc["icon"]["url"])
    assert icon.code == 200 and icon.headers["Content-Type"] == doc["icon"]["mediaType"] == "image/png"
    assert icon.body.startswith(b"\x89PNG")
    assert undefined_terms(expand(doc)) == []


# -- events (SPEC §6): the Event, its activities, and the events actor ------------------------

MZ, SCHEMA = "https://joinmobilizon.org/ns#", "http://schema.org#"


async def published_event(make_user, db):
    from gancio_like.services import events
    alice = await make_user("alice")
    event = await events.create_event(db, alice, {
        "title": "Jazz night", "description": "Bring friends\nand chairs", "start_datetime": 1906804800,
        "end_datetime": 1906812000, "timezone": "Europe/Rome", "place_name": "The Cellar",
        "place_address": "1 Via Roma", "tags": ["jazz", "live music"]})
    await events.update_event(db, event.id, alice, {"title": "Jazz night!"})
    await db.execute("UPDATE events SET updated_at = created_at + 60 WHERE id = ?", (event.id,))
    return await events.get_event(db, event.id)


@pytest.mark.gen_test
async def test_every_event_term_survives_expansion(browser, make_user, db, base_url):
    event = await published_event(make_user, db)
    doc = (await browser.get(f"/events/{event.id}", headers={"Accept": AP})).json()
    node = expand(doc)
    url, owner = f"{base_url}/events/{event.id}", f"{base_url}/users/alice"
    assert undefined_terms(node) == []
    assert node["@id"] == url and node["@type"] == [AS + "Event"]
    assert node[AS + "name"] == [{"@value": "Jazz night!"}]
    assert node[AS + "content"] == [{"@value": "<p>Bring friends<br>and chairs</p>"}]
    assert node[AS + "summary"] == [{"@value": doc["summary"]}]
    assert node[AS + "startTime"] == [{"@type": "http://www.w3.org/2001/XMLSchema#dateTime",
                                       "@value": "2030-06-04T14:00:00+02:00"}]
    assert node[AS + "endTime"][0]["@value"] == "2030-06-04T16:00:00+02:00"
    assert node[MZ + "timezone"] == [{"@value": "Europe/Rome"}]
    assert node[AS + "url"] == [{"@id": url}] and node[AS + "attributedTo"] == [{"@id": owner}]
    [place] = node[AS + "location"]
    assert place["@type"] == [AS + "Place"] and place[AS + "name"] == [{"@value": "The Cellar"}]
    assert place[SCHEMA + "address"] == [{"@value": "1 Via Roma"}]
    assert [t["@type"] for t in node[AS + "tag"]] == [[AS + "Hashtag"]] * 2
    assert [t[AS + "name"] for t in node[AS + "tag"]] == [[{"@value": "#jazz"}], [{"@value": "#live music"}]]
    assert node[AS + "tag"][1][AS + "href"] == [{"@id": f"{base_url}/events?tag=live+music"}]
    assert node[AS + "to"] == [{"@id": AS + "Public"}] and node[AS + "cc"] == [{"@id": f"{owner}/followers"}]
    for name in ("published", "updated"):
        assert node[AS + name][0]["@type"] == "http://www.w3.org/2001/XMLSchema#dateTime"
    assert AS + "attachment" in node  # empty: Gancio reads its length
    assert len(node) == len(doc) - 1


@pytest.mark.gen_test
async def test_event_activities_survive_expansion(app, make_user, db):
    from gancio_like.federation import event_objects
    event = await published_event(make_user, db)
    actor = f"{app.cfg.issuer}/actor/events"
    for kind in ("Create", "Update", "Delete"):
        sent = event_objects.activity(app.cfg.issuer, kind, actor, event, "UTC")
        node = expand(sent)
        assert undefined_terms(node) == [], kind
        assert node["@type"] == [AS + kind] and node[AS + "actor"] == [{"@id": actor}]
        [obj] = node[AS + "object"]
        assert len(obj) == len(sent["object"]), kind  # every property of the object, as an IRI
    [tombstone] = expand(event_objects.activity(app.cfg.issuer, "Delete", actor, event, "UTC"))[AS + "object"]
    assert tombstone["@type"] == [AS + "Tombstone"] and tombstone[AS + "formerType"] == [{"@id": AS + "Event"}]


@pytest.mark.gen_test
async def test_every_events_actor_term_survives_expansion(browser, make_user, db, base_url):
    await published_event(make_user, db)
    doc = (await browser.get("/actor/events", headers={"Accept": AP})).json()
    node = expand(doc)
    url = f"{base_url}/actor/events"
    assert undefined_terms(node) == []
    assert node["@id"] == url and node["@type"] == [AS + "Application"]
    assert node[AS + "preferredUsername"] == [{"@value": "events"}]
    assert node[AS + "manuallyApprovesFollowers"] == [{"@value": False}]
    assert node["http://www.w3.org/ns/ldp#inbox"] == [{"@id": f"{url}/inbox"}]
    [key] = node[SEC + "publicKey"]
    assert key["@id"] == f"{url}#main-key" and key[SEC + "owner"] == [{"@id": url}]
    assert len(node) == len(doc) - 1
    outbox = (await browser.get("/actor/events/outbox", headers={"Accept": AP})).json()
    expanded = expand(outbox)
    assert undefined_terms(expanded) == []
    [page] = expanded[AS + "first"]
    [items] = page[AS + "items"]  # orderedItems is as:items with @list (the AS context)
    [create] = items["@list"]
    assert create["@type"] == [AS + "Create"] and create[AS + "object"][0]["@type"] == [AS + "Event"]
