"""The kinds of notification an instance knows (SPEC §4, §7): the core's three, then
each plugin's `NAME:kind`, declared through the `fync_notification_types` hook.
A leaf module, so the plugin host can fill the registry without importing services.
"""
from __future__ import annotations

import re

CORE_TYPES = {
    "friend_request": "Someone asks to be your friend",
    "friend_accepted": "Someone accepted your friend request",
    "friend_event": "A friend published an event",
}
PLUGIN_TYPE = re.compile(r"[a-z][a-z0-9_]*:[a-z][a-z0-9_]*")
TYPE = re.compile(r"[a-z][a-z0-9_]{0,30}(:[a-z][a-z0-9_]{0,30})?")


class NotificationTypes:
    """Known notification types and what each means, in words (the core's, then the plugins')."""

    def __init__(self):
        self._types = dict(CORE_TYPES)
        self._owners = dict.fromkeys(CORE_TYPES, "core")

    def add(self, name: str, description: str, owner: str) -> None:
        """A plugin's type, named `PLUGIN:kind`; a bad name, no description or a clash stops startup."""
        if not PLUGIN_TYPE.fullmatch(name) or not name.startswith(f"{owner}:") or not TYPE.fullmatch(name):
            raise ValueError(f"plugin {owner!r}: notification type {name!r} must be named {owner}:<kind>")
        if not isinstance(description, str) or not description.strip():
            raise ValueError(f"plugin {owner!r}: notification type {name!r} needs a description")
        if name in self._types:
            raise ValueError(f"plugin {owner!r}: notification type {name!r} is already declared "
                             f"by {self._owners[name]!r}")
        self._types[name], self._owners[name] = description.strip(), owner

    def describe(self, name: str) -> str | None:
        return self._types.get(name)

    def names(self) -> list[str]:
        return list(self._types)
