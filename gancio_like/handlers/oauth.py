"""OAuth 2.0 endpoints (SPEC §3): thin handlers over `gancio_like.oauth`."""
from __future__ import annotations

import json
from urllib.parse import urlencode, urlsplit

from .. import validation
from ..errors import ValidationError
from ..oauth import authorize, cimd, clientauth, introspection, metadata, registration, revocation, schemas, token
from ..oauth.errors import InvalidClientMetadata, InvalidRedirectURI, InvalidRequest, OAuthError, RateLimited
from ..oauth.params import single_params
from ..services import accounts
from ..jsonstrict import parse_json
from .base import JsonHandler, PageHandler


class MetadataHandler(JsonHandler):
    """RFC 8414 document; built once, it only changes with the process."""

    def get(self) -> None:
        if not hasattr(self.fync, "_metadata_json"):
            self.fync._metadata_json = json.dumps(metadata.server_metadata(self.fync.oauth))
        self.set_header("Content-Type", "application/json; charset=utf-8")
        self.finish(self.fync._metadata_json)


class AuthorizeHandler(PageHandler):
    """GET shows consent (or answers at once when remembered); POST records the decision."""

    def set_default_headers(self) -> None:
        super().set_default_headers()
        self.set_header("Cache-Control", "no-store")

    async def get(self) -> None:
        ctx = self.fync.oauth
        args = self.request.query_arguments
        client, redirect_uri, sent = await authorize.resolve_client(ctx, args)
        if self.current_user is None and client.anonymous:
            # RFC 9700 §4.11.2: an anonymous client must not get instant error redirects.
            return self._to_login()
        try:
            req = authorize.parse(ctx, client, redirect_uri, sent, args)
        except OAuthError as exc:
            return self.redirect(authorize.error_redirect(ctx, redirect_uri, exc))
        if self.current_user is None:
            return self._to_login()
        user_id = self.current_user.id
        url = await authorize.approve_remembered(ctx, user_id, req)
        if url is not None:
            return self.redirect(url)
        request_id = await authorize.save_pending(ctx, accounts.session_hash(self.session_token), user_id, req)
        self.render("consent.html", req=req, request_id=request_id, redirect_host=_host(req.redirect_uri),
                    own_app=cimd.is_own_client(self.cfg, req.client),
                    scopes=[(s, ctx.scopes.describe(s)) for s in ctx.scopes.names() if s in req.scopes])

    def _to_login(self) -> None:
        self.redirect("/login?" + urlencode({"next": self.request.uri}))

    async def post(self) -> None:
        if self.current_user is None:
            raise authorize.UnsafeRedirect("log in first, then start again from the app")
        ticked = {s for raw in self.request.body_arguments.get("scope", [])
                  for s in raw.decode("utf-8", "replace").split()}
        url = await authorize.answer(
            self.fync.oauth, accounts.session_hash(self.session_token),
            self.get_body_argument("request_id", ""), self.current_user.id,
            self.get_body_argument("decision", "") == "allow", ticked)
        self.redirect(url, status=303)


def _host(uri: str) -> str:
    parts = urlsplit(uri)
    return parts.netloc or f"{parts.scheme}:"


class OAuthFormHandler(JsonHandler):
    """Token, revocation and introspection: form-encoded POSTs, client auth, no caching."""

    def set_default_headers(self) -> None:
        super().set_default_headers()
        self.set_header("Cache-Control", "no-store")
        self.set_header("Pragma", "no-cache")

    def form_params(self) -> dict[str, str]:
        """RFC 6749 §3.2: form-encoded body only; nothing in the query, no duplicates."""
        content_type = self.request.headers.get("Content-Type", "").split(";")[0].strip().lower()
        if content_type != "application/x-www-form-urlencoded":
            raise InvalidRequest("send parameters as application/x-www-form-urlencoded")
        if self.request.query_arguments:
            raise InvalidRequest("parameters belong in the request body, not the URL")
        return single_params(self.request.body_arguments)

    async def client(self, params: dict[str, str]):
        return await clientauth.authenticate(self.fync.oauth, self.request.headers.get("Authorization"), params)


class TokenHandler(OAuthFormHandler):
    async def post(self) -> None:
        params = self.form_params()
        client = await self.client(params)
        self.write_json(await token.grant(self.fync.oauth, client, params))


class RevokeHandler(OAuthFormHandler):
    async def post(self) -> None:
        params = self.form_params()
        client = await self.client(params)
        await revocation.revoke(self.fync.oauth, client, params)
        self.finish()


class IntrospectHandler(OAuthFormHandler):
    async def post(self) -> None:
        params = self.form_params()
        client = await self.client(params)
        self.write_json(await introspection.introspect(self.fync.oauth, client, params))


class RegistrationHandler(JsonHandler):
    """Shared by both registration endpoints: per-IP limit and body parsing."""

    async def limit(self) -> None:
        """Checked and counted in one step, so parallel registrations cannot all slip past."""
        wait = await self.fync.registration_throttle.attempt(("register", self.request.remote_ip))
        if wait:
            raise RateLimited("too many client registrations from this address", retry_after=wait)

    def json_object(self) -> dict:
        try:
            data = parse_json(self.request.body)
        except ValueError as exc:
            raise InvalidClientMetadata(str(exc)) from None
        if not isinstance(data, dict):
            raise InvalidClientMetadata("the body must be a JSON object")
        return data

    def checked(self, data: dict, body: str) -> dict:
        """`data` if it fits the schema `/api/openapi.json` gives this body, else RFC 7591's error."""
        if not hasattr(self.fync, "_client_schemas"):  # scopes are fixed once the app serves
            self.fync._client_schemas = schemas.client_schemas(self.fync.scopes)
        try:
            validation.check(data, self.fync._client_schemas[body])
        except ValidationError as exc:
            refused = InvalidRedirectURI if (exc.field or "").startswith("redirect_uris") else InvalidClientMetadata
            raise refused(exc.description) from None
        return data


class GancioClientHandler(RegistrationHandler):
    """Gancio's `POST /api/client`, form or JSON."""

    link_name = "gancio_register"  # its name in `GET /api`

    async def post(self) -> None:
        await self.limit()
        # Media types are case-insensitive (RFC 9110 §8.3.1).
        if self.request.headers.get("Content-Type", "").lower().startswith("application/json"):
            data = self.checked(self.json_object(), "gancio")
        else:
            data = self.checked(single_params(self.request.body_arguments), "gancio_form")
        self.write_json(await registration.register_gancio(self.fync.oauth, data, self.request.remote_ip))


class RegisterHandler(RegistrationHandler):
    """RFC 7591 dynamic client registration."""

    async def post(self) -> None:
        await self.limit()
        data = self.checked(self.json_object(), "rfc7591")
        body = await registration.register_rfc7591(self.fync.oauth, data, self.request.remote_ip)
        self.set_header("Cache-Control", "no-store")
        self.write_json(body, 201)


class RegistrationManagementHandler(RegistrationHandler):
    """RFC 7592: read, update, delete with the registration access token."""

    async def _client(self, client_id: str):
        return await registration.managed_client(self.fync.oauth, client_id,
                                                 self.request.headers.get("Authorization"))

    async def get(self, client_id: str) -> None:
        client = await self._client(client_id)
        self.write_json(registration.client_document(self.fync.oauth, client))

    async def put(self, client_id: str) -> None:
        client = await self._client(client_id)
        data = self.checked(self.json_object(), "rfc7592")
        self.write_json(await registration.update_rfc7592(self.fync.oauth, client, data))

    async def delete(self, client_id: str) -> None:
        await registration.delete(self.fync.oauth, await self._client(client_id))
        self.set_status(204)
        self.finish()
