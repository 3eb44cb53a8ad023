"""RFC 9421 HTTP Message Signatures on the inbox (SPEC §6), as Fedify-based servers send
them first: a correctly signed POST is taken (202); one whose body, Content-Digest,
method or target differs from what was signed, one signed too long ago, or one that
leaves the method, target or digest uncovered is refused with 401 and changes nothing.

The peer is a real instance (A) whose user's key is fetched from its actor document;
the requests are signed here with the http-message-signatures library, as a Fedify
server would sign them (`rsa-v1_5-sha256`, `created`, `keyid`, Content-Digest)."""
from __future__ import annotations

import base64
import datetime
import hashlib
import json
import time
from dataclasses import dataclass, field

import pytest
from cryptography.hazmat.primitives import serialization
from http_message_signatures import HTTPMessageSigner, HTTPSignatureKeyResolver, algorithms
from tornado.httpclient import HTTPRequest

from federation_helpers import Instance, Response, follow
from gancio_like.federation import keys

SLOW = pytest.mark.gen_test(timeout=60)
FEDIFY = ("@method", "@target-uri", "@authority", "host", "date", "content-digest")


@pytest.fixture
def instances(io_loop, tmp_path):
    made = []

    async def make(name: str) -> Instance:
        instance = await Instance(tmp_path / name).open()
        made.append(instance)
        return instance
    yield make
    for instance in made:
        io_loop.run_sync(instance.dispose)


@pytest.fixture
def peers(instances):
    async def make():
        a, b = await instances("a"), await instances("b")
        return await a.person("alice"), await b.person("bob")
    return make


@dataclass
class Message:
    """What the library signs: a method, an absolute URL and headers it may add to."""
    method: str
    url: str
    headers: dict = field(default_factory=dict)


class PrivateKey(HTTPSignatureKeyResolver):
    def __init__(self, pem: str):
        self.key = serialization.load_pem_private_key(pem.encode(), password=None)

    def resolve_private_key(self, key_id: str):
        return self.key

    def resolve_public_key(self, key_id: str):
        return self.key.public_key()


async def signed(sender, url: str, activity: dict, *, body: bytes | None = None, method: str = "POST",
                 covered=FEDIFY, created: float | None = None, algorithm=algorithms.RSA_V1_5_SHA256,
                 digest_body: bool = True) -> Message:
    """A Message signed by `sender`'s key for `url` (sign first, break it after, in the tests)."""
    body = json.dumps(activity).encode() if body is None else body
    pair = await keys.key_pair(sender.instance.db, sender.id)
    message = Message(method, url, {"Host": url.split("/")[2], "Date": time.strftime(
        "%a, %d %b %Y %H:%M:%S GMT", time.gmtime()), "Content-Type": "application/activity+json"})
    if not digest_body:
        message.headers["Content-Digest"] = digest(body)
    signer = HTTPMessageSigner(signature_algorithm=algorithm, key_resolver=PrivateKey(pair.private_pem))
    moment = datetime.datetime.fromtimestamp(time.time() if created is None else created, datetime.timezone.utc)
    signer.sign(message, key_id=f"{sender.actor}#main-key", created=moment, label="sig1",
                covered_component_ids=covered, body=body if digest_body else None,
                use_existing_digest=not digest_body)
    message.body = body
    return message


def digest(body: bytes) -> str:
    """RFC 9530 Content-Digest of `body` (a Structured Fields dictionary)."""
    return "sha-256=:" + base64.b64encode(hashlib.sha256(body).digest()).decode() + ":"


async def send(sender, message: Message, *, url: str | None = None, body: bytes | None = None,
               method: str = "POST", **header_changes) -> Response:
    headers = {**message.headers, **header_changes}
    request = HTTPRequest(url or message.url, method=method, headers=headers,
                          body=message.body if body is None else body, allow_nonstandard_methods=True)
    return Response(await sender.instance.http.fetch(request, raise_error=False))


async def nothing_changed(instance) -> bool:
    return (await instance.count("SELECT count(*) FROM friend_requests") == 0
            and await instance.count("SELECT count(*) FROM inbox_seen") == 0)


def refused(r) -> None:
    assert r.code == 401, r.text
    assert r.json()["error"] == "unauthorized"


@SLOW
@pytest.mark.parametrize("shared", [False, True])
async def test_an_rfc9421_signed_follow_is_taken(peers, shared):
    alice, bob = await peers()
    url = f"{bob.instance.base}/inbox" if shared else f"{bob.actor}/inbox"
    r = await send(alice, await signed(alice, url, follow(alice, bob)))
    assert r.code == 202, r.text
    assert (await bob.requests())["incoming"] == [(alice.acct, bob.acct)]


@SLOW
async def test_the_least_it_must_cover_is_enough(peers):
    alice, bob = await peers()
    url = f"{bob.actor}/inbox"
    r = await send(alice, await signed(alice, url, follow(alice, bob), covered=("@method", "@target-uri")))
    assert r.code == 202, r.text  # the library adds content-digest to what is covered, as it signs the body


@SLOW
async def test_a_tampered_body_is_refused(peers):
    alice, bob = await peers()
    message = await signed(alice, f"{bob.actor}/inbox", follow(alice, bob))
    other = json.dumps({**follow(alice, bob), "id": f"{alice.instance.base}/activities/other"}).encode()
    refused(r := await send(alice, message, body=other))
    assert "Content-Digest" in r.json()["error_description"]
    assert await nothing_changed(bob.instance)


@SLOW
async def test_a_digest_changed_to_match_a_new_body_is_refused(peers):
    alice, bob = await peers()
    message = await signed(alice, f"{bob.actor}/inbox", follow(alice, bob))
    other = json.dumps({**follow(alice, bob), "id": f"{alice.instance.base}/activities/other"}).encode()
    refused(r := await send(alice, message, body=other, **{"Content-Digest": digest(other)}))
    assert "does not verify" in r.json()["error_description"]
    assert await nothing_changed(bob.instance)


@SLOW
async def test_another_method_than_signed_is_refused(peers):
    alice, bob = await peers()
    message = await signed(alice, f"{bob.actor}/inbox", follow(alice, bob), method="PUT")
    refused(await send(alice, message))  # sent as POST
    assert await nothing_changed(bob.instance)


@SLOW
async def test_another_target_than_signed_is_refused(peers):
    alice, bob = await peers()
    message = await signed(alice, f"{bob.actor}/inbox", follow(alice, bob))
    refused(await send(alice, message, url=f"{bob.instance.base}/inbox"))
    assert await nothing_changed(bob.instance)


@SLOW
@pytest.mark.parametrize("seconds", [-600, 600])
async def test_a_signature_created_outside_the_window_is_refused(peers, seconds):
    alice, bob = await peers()
    message = await signed(alice, f"{bob.actor}/inbox", follow(alice, bob), created=time.time() + seconds)
    refused(r := await send(alice, message))
    assert "created" in r.json()["error_description"]
    assert await nothing_changed(bob.instance)


@SLOW
@pytest.mark.parametrize("covered,missing", [(("@method", "@target-uri"), "content-digest"),
                                             (("@target-uri", "content-digest"), "@method"),
                                             (("@method", "@authority", "content-digest"), "@target-uri")])
async def test_what_must_be_covered_is_required(peers, covered, missing):
    alice, bob = await peers()
    message = await signed(alice, f"{bob.actor}/inbox", follow(alice, bob), covered=covered, digest_body=False)
    refused(r := await send(alice, message))
    assert missing in r.json()["error_description"]
    assert await nothing_changed(bob.instance)


@SLOW
async def test_another_algorithm_is_refused(peers):
    alice, bob = await peers()
    message = await signed(alice, f"{bob.actor}/inbox", follow(alice, bob), algorithm=algorithms.RSA_PSS_SHA512)
    refused(r := await send(alice, message))
    assert "rsa-v1_5-sha256" in r.json()["error_description"]
    assert await nothing_changed(bob.instance)


@SLOW
async def test_a_signature_input_without_a_signature_is_refused(peers):
    alice, bob = await peers()
    message = await signed(alice, f"{bob.actor}/inbox", follow(alice, bob))
    del message.headers["Signature"]
    refused(await send(alice, message))
    assert await nothing_changed(bob.instance)
