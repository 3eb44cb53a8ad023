"""How this app becomes a client of an instance: dynamic registration (RFC 7591,
managed with RFC 7592), or a Client ID Metadata Document where the instance
accepts one (SPEC §3), so nothing is registered at all.

A command-line app cannot keep a secret, so it registers as a public client
(`token_endpoint_auth_method: "none"`) with the port-less loopback redirect URI
`http://127.0.0.1/callback`: the instance lets it match any port (RFC 8252 §7.3),
so one registration serves every login, whatever port the listener gets.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field

from . import http
from .discovery import Instance
from .errors import RegistrationError

LOOPBACK_REDIRECT = "http://127.0.0.1/callback"


@dataclass(frozen=True)
class ClientRegistration:
    """What the app must remember about itself at one instance."""

    client_id: str
    redirect_uri: str = LOOPBACK_REDIRECT
    scope: str = ""
    client_secret: str | None = None
    registration_access_token: str | None = field(default=None, repr=False)
    registration_client_uri: str | None = None

    def covers(self, scope: str) -> bool:
        """Whether `scope` lies within what was registered (else authorize says invalid_scope)."""
        return set(scope.split()) <= set(self.scope.split())

    def to_dict(self) -> dict:
        return {k: v for k, v in asdict(self).items() if v is not None}

    @classmethod
    def from_dict(cls, data: dict) -> "ClientRegistration":
        return cls(**{k: data[k] for k in cls.__dataclass_fields__ if k in data})


def metadata_document_client(url: str, scope: str, redirect_uri: str = LOOPBACK_REDIRECT) -> ClientRegistration:
    """The app is its document's URL (SPEC §3); the document must list `redirect_uri`."""
    return ClientRegistration(client_id=url, redirect_uri=redirect_uri, scope=scope)


async def register(instance: Instance, client_name: str, scope: str, client_uri: str | None = None,
                   redirect_uri: str = LOOPBACK_REDIRECT) -> ClientRegistration:
    """RFC 7591 §3.1: register a public client → its registration."""
    body = {"client_name": client_name, "redirect_uris": [redirect_uri], "scope": scope,
            "token_endpoint_auth_method": "none", "grant_types": ["authorization_code", "refresh_token"],
            "response_types": ["code"]}
    if client_uri:
        body["client_uri"] = client_uri
    reply = await http.fetch(instance.endpoint("registration"), "POST", json_body=body)
    data = reply.data()
    if reply.status not in (200, 201) or not isinstance(data, dict) or not data.get("client_id"):
        raise RegistrationError(f"{instance.domain} refused to register this app: {_why(reply)}")
    return ClientRegistration(data["client_id"], redirect_uri, data.get("scope", scope),
                              data.get("client_secret"), data.get("registration_access_token"),
                              data.get("registration_client_uri"))


async def unregister(registration: ClientRegistration) -> bool:
    """RFC 7592 §2.3: delete the registration; best effort (False when it could not)."""
    if not (registration.registration_client_uri and registration.registration_access_token):
        return False
    headers = {"Authorization": f"Bearer {registration.registration_access_token}"}
    reply = await http.fetch(registration.registration_client_uri, "DELETE", headers=headers)
    return reply.status in (200, 204)


def _why(reply: http.Reply) -> str:
    data = reply.data()
    if isinstance(data, dict) and data.get("error"):
        return f"{data['error']} ({data.get('error_description', '')}) [HTTP {reply.status}]"
    if reply.status == 404:
        return "it has no registration endpoint (HTTP 404)"
    return f"HTTP {reply.status}"
