"""A client application: the one object an app holds (SPEC §8).

`App` ties the protocol modules to a `CredentialStore`. Per instance domain it
keeps `{"instance", "client", "tokens", "user"}`: the metadata it discovered, its
registration there (made once, reused while it covers the scopes asked for), the
user's tokens and who they are. `login()` runs the whole RFC 8252 dance with a
loopback listener; `begin()` and `complete()` are the same in two steps, for apps
that receive the redirect themselves.
"""
from __future__ import annotations

import time
from collections.abc import Callable

from . import registration as reg_api, tokens as token_api
from .credentials import CredentialStore
from .discovery import Instance, discover, origin_of, split_handle
from .errors import ApiError, AuthorizationError, ClientError, NotLoggedIn
from .http import fetch
from .loopback import LoopbackReceiver
from .oauth import AuthorizationRequest, authorization_request, parse_callback
from .registration import ClientRegistration
from .session import Session
from .tokens import Tokens

DEFAULT_TIMEOUT = 300  # seconds the person has to answer in the browser


class App:
    def __init__(self, name: str, store: CredentialStore, client_uri: str | None = None,
                 metadata_document_url: str | None = None, clock: Callable[[], float] = time.time):
        """`metadata_document_url`: this app's Client ID Metadata Document, used instead of
        registering where the instance supports it (the document must list the loopback URI)."""
        self.name, self.store, self.client_uri = name, store, client_uri
        self.metadata_document_url, self.clock = metadata_document_url, clock

    # -- logging in ---------------------------------------------------------------------------

    async def login(self, target: str | Instance, scope: str = "profile",
                    on_url: Callable[[str], None] = print, timeout: float = DEFAULT_TIMEOUT) -> Session:
        """Discover, register if needed, show the URL, wait for the browser → a stored Session."""
        instance = target if isinstance(target, Instance) else await discover(target)
        async with LoopbackReceiver() as receiver:
            request = await self.begin(instance, scope, receiver.redirect_uri)
            on_url(request.url)
            callback_url = await receiver.wait(request.state, timeout)
        return await self.complete(request, callback_url)

    async def begin(self, target: str | Instance, scope: str, redirect_uri: str) -> AuthorizationRequest:
        """Step one: the authorization request (PKCE S256, random state) to open in a browser."""
        instance = target if isinstance(target, Instance) else await discover(target)
        client = await self.client_for(instance, scope)
        return authorization_request(instance, client.client_id, redirect_uri, scope)

    async def complete(self, request: AuthorizationRequest, callback_url: str) -> Session:
        """Step two: check the redirect back (iss, state, error), exchange the code, store."""
        code = parse_callback(request, callback_url)
        client = self._stored_client(request.instance)
        if client is None or client.client_id != request.client_id:
            raise AuthorizationError("this app's registration changed during the login; start again")
        tokens = await token_api.exchange_code(request, client, code, self.clock())
        session = self._session(request.instance, client, tokens)
        user = await _who(session)
        self.store.update(request.instance.domain, lambda entry: {
            **(entry or {}), "instance": request.instance.to_dict(), "client": client.to_dict(),
            "tokens": tokens.to_dict(), "user": user})
        return session

    # -- the client registration --------------------------------------------------------------

    async def client_for(self, instance: Instance, scope: str) -> ClientRegistration:
        """The stored registration if it still exists and covers `scope`, else a new one."""
        old = self._stored_client(instance)
        if old is not None and old.covers(scope) and await _still_registered(old):
            return old
        wanted = " ".join(sorted(set(scope.split()) | set(old.scope.split() if old else ())))
        client = await self._new_client(instance, wanted)
        if old is not None:
            await _forget_registration(old)
        self.store.update(instance.domain, lambda entry: {
            **(entry or {}), "instance": instance.to_dict(), "client": client.to_dict()})
        return client

    async def _new_client(self, instance: Instance, scope: str) -> ClientRegistration:
        if self.metadata_document_url and instance.metadata.get("client_id_metadata_document_supported"):
            return reg_api.metadata_document_client(self.metadata_document_url, scope)
        return await reg_api.register(instance, self.name, scope, self.client_uri)

    def _stored_client(self, instance: Instance) -> ClientRegistration | None:
        entry = self.store.get(instance.domain) or {}
        if entry.get("instance", {}).get("issuer") != instance.issuer or "client" not in entry:
            return None
        return ClientRegistration.from_dict(entry["client"])

    # -- logged in ----------------------------------------------------------------------------

    def entry(self, target: str) -> tuple[str, dict]:
        """The stored (domain, entry) for a domain, URL or handle, without network; NotLoggedIn."""
        handle = split_handle(target.strip())
        domain = handle[1] if handle else _domain_of(target.strip())
        entry = self.store.get(domain)
        if entry is None and handle:
            domain, entry = self._by_acct(f"{handle[0]}@{handle[1]}")
        if not entry or "tokens" not in entry:
            raise NotLoggedIn(f"not logged in to {domain}")
        return domain, entry

    def session(self, target: str) -> Session:
        """The stored login at `target` as a Session that saves its renewed tokens."""
        _, entry = self.entry(target)
        return self._session(Instance.from_dict(entry["instance"]),
                             ClientRegistration.from_dict(entry["client"]), Tokens.from_dict(entry["tokens"]))

    def user(self, target: str) -> dict | None:
        """{"username", "acct"} as stored at login, or None when the scope did not allow it."""
        return self.entry(target)[1].get("user")

    async def logout(self, target: str) -> str:
        """Revoke the login (RFC 7009: the refresh token ends its family), forget it → domain.

        The app's registration stays: it is no secret of the user's, and the next
        login reuses it instead of leaving an orphan registration per login."""
        domain, _ = self.entry(target)
        await self.session(domain).revoke()
        self.store.update(domain, lambda entry: entry and {k: entry[k] for k in ("instance", "client") if k in entry})
        return domain

    def _session(self, instance: Instance, client: ClientRegistration, tokens: Tokens) -> Session:
        return Session(instance, client, tokens, on_tokens=lambda t: self._save_tokens(instance.domain, t),
                       clock=self.clock)

    def _save_tokens(self, domain: str, tokens: Tokens) -> None:
        # Never resurrect an entry another process forgot (a logout) meanwhile.
        self.store.update(domain, lambda entry: entry and {**entry, "tokens": tokens.to_dict()})

    def _by_acct(self, acct: str) -> tuple[str, dict | None]:
        for domain in self.store.domains():
            entry = self.store.get(domain)
            if (entry.get("user") or {}).get("acct") == acct:
                return domain, entry
        return acct.partition("@")[2], None


def _domain_of(target: str) -> str:
    """`example.org`, `https://example.org/` → the credentials key (host[:port])."""
    return origin_of(target).split("://", 1)[1]


async def _who(session: Session) -> dict | None:
    """{"username", "acct"} from /api/me when the granted scope allows it."""
    if "profile" not in session.tokens.scopes():
        return None
    try:
        me = await session.get("/api/me")
    except ApiError:
        return None
    return {"username": me.get("username"), "acct": me.get("acct")}


async def _still_registered(client: ClientRegistration) -> bool:
    """RFC 7592 §2.1 read: an admin may have deleted the app since it was stored."""
    if not (client.registration_client_uri and client.registration_access_token):
        return True  # a metadata document client, or no management URI: nothing to ask
    headers = {"Authorization": f"Bearer {client.registration_access_token}"}
    reply = await fetch(client.registration_client_uri, headers=headers)
    return reply.status not in (401, 403, 404)  # other trouble shows up at authorize


async def _forget_registration(client: ClientRegistration) -> None:
    """Best effort: an orphaned registration costs the instance a row, not the user a login."""
    try:
        await reg_api.unregister(client)
    except ClientError:
        pass
