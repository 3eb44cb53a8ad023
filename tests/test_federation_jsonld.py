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

from gancio_like.federation import actors

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
