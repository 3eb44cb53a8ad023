"""`fync client list|approve|disable|delete` (SPEC §1) against a real instance database."""
from __future__ import annotations

import asyncio
import sqlite3

import pytest

from gancio_like import net
from gancio_like.app import open_instance
from gancio_like.config import load_config
from gancio_like.oauth.context import OAuthContext
from gancio_like.oauth.registration import create
from gancio_like.scopes import ScopeRegistry
from test_cli import assert_one_line_error, database, fync, instance  # noqa: F401  (fixture)


def register_app(instance, name="Gadget") -> str:
    """An openly registered client with one live grant of the user `u`, made through the real code."""
    async def go():
        cfg = load_config(str(instance / "fync.toml"), env={})
        db, _ = await open_instance(cfg)
        try:
            client, _, _ = await create(OAuthContext(cfg, db, ScopeRegistry(), net.fetch_json), name=name,
                                        redirect_uris=["https://app.example/cb"],
                                        scopes=frozenset({"profile"}), source="gancio")
            async with db.transaction() as tx:
                uid = await tx.insert("INSERT INTO users (username, password_hash, created_at) VALUES ('u', 'x', 0)")
                await tx.insert("INSERT INTO grants (client_pk, user_id, scope, created_at) VALUES (?, ?, 'profile', 0)",
                                (client.pk, uid))
            return client.client_id
        finally:
            await db.close()
    return asyncio.run(go())


def status(instance, client_id) -> tuple[str, int]:
    with sqlite3.connect(database(instance)) as conn:
        row = conn.execute("SELECT status, (SELECT count(*) FROM grants g WHERE g.client_pk = c.id "
                           "AND g.revoked_at IS NULL) FROM clients c WHERE client_id = ?", (client_id,)).fetchone()
    return row


def test_list_shows_client_status_and_source(instance):
    cid = register_app(instance)
    out = fync(instance, "client", "list")
    assert out.returncode == 0
    assert out.stdout.split("\t")[:3] == [cid, "active", "gancio"] and "Gadget" in out.stdout


def test_disable_revokes_grants_then_approve_reactivates(instance):
    cid = register_app(instance)
    out = fync(instance, "client", "disable", cid)
    assert out.returncode == 0 and "revoked 1 grant" in out.stdout
    assert status(instance, cid) == ("disabled", 0)
    assert fync(instance, "client", "approve", cid).returncode == 0
    assert status(instance, cid)[0] == "active"


def test_user_passwd_revokes_the_users_grants(instance):
    cid = register_app(instance)
    out = fync(instance, "user", "passwd", "u", "--password-stdin", stdin="a new password\n")
    assert out.returncode == 0, out.stderr
    assert "app grants ended" in out.stdout
    assert status(instance, cid) == ("active", 0)


def test_delete_removes_client(instance):
    cid = register_app(instance)
    assert fync(instance, "client", "delete", cid).returncode == 0
    assert status(instance, cid) is None


@pytest.mark.parametrize("action", ["approve", "disable", "delete"])
def test_unknown_client_is_one_line_error(instance, action):
    register_app(instance)
    assert_one_line_error(fync(instance, "client", action, "no-such-id"), "no-such-id")
