"""The scope registry: core scopes plus those plugins declare.

RFC 6749 §3.3 (scope is a space-delimited list of case-sensitive scope-tokens,
`scope-token = 1*( %x21 / %x23-5B / %x5D-7E )`); plugin scopes are `NAME:action`.
"""
from __future__ import annotations

import re
from collections.abc import Iterable

from .languages import N_

# Pages show each description in the reader's language (the consent page, settings, the portal).
CORE_SCOPES: dict[str, str] = {
    "profile": N_("Read your profile"),
    "friends:read": N_("See your friends, friend requests and suggestions"),
    "friends:write": N_("Send, accept and decline friend requests; remove friends"),
    "event:read": N_("See events, including your unpublished ones"),
    "event:write": N_("Create, update and delete your events"),
    "notifications": N_("See your notifications, and send them to your devices as push notifications"),
}

SCOPE_TOKEN = re.compile(r"[\x21\x23-\x5B\x5D-\x7E]+")
PLUGIN_SCOPE = re.compile(r"[a-z][a-z0-9_]*:[a-z][a-z0-9_]*")


class ScopeRegistry:
    """Known scopes and their consent-page descriptions."""

    def __init__(self, scopes: dict[str, str] | None = None):
        """Core scopes plus `scopes` (trusted, e.g. from tests or configuration)."""
        self._scopes = {**CORE_SCOPES, **(scopes or {})}
        self._owners = dict.fromkeys(self._scopes, "core")

    def add(self, name: str, description: str, owner: str) -> None:
        """Register a plugin scope; a bad name or a clash is a startup error."""
        if not PLUGIN_SCOPE.fullmatch(name):
            raise ValueError(f"plugin {owner!r}: scope {name!r} must look like name:action")
        if not description:
            raise ValueError(f"plugin {owner!r}: scope {name!r} needs a description")
        # First come does not win: two plugins granting different powers under one
        # name would make the consent page lie about one of them.
        if name in self._scopes:
            raise ValueError(f"plugin {owner!r}: scope {name!r} is already declared "
                             f"by {self._owners[name]!r}")
        self._scopes[name] = description
        self._owners[name] = owner

    def describe(self, name: str) -> str:
        return self._scopes[name]

    def names(self) -> list[str]:
        """Core scopes in their documented order, then the others sorted."""
        core = [name for name in CORE_SCOPES if name in self._scopes]
        return core + sorted(self._scopes.keys() - CORE_SCOPES.keys())

    def __contains__(self, name: object) -> bool:
        return name in self._scopes


def format_scope(scopes: Iterable[str]) -> str:
    """Space-joined and sorted, so equal sets always format the same way."""
    return " ".join(sorted(scopes))
