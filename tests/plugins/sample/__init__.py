"""A test plugin that implements every Fync hook, recording what it is told."""
from pathlib import Path

from gancio_like.plugins import ApiHandler, hookimpl, public, record_notification, requires_scope

RECORDED: list = []


@hookimpl
def fync_scopes():
    return {"sample:read": "Read your sample notes", "sample:write": "Write sample notes"}


@hookimpl
def fync_routes():
    return [(r"/api/sample/notes", NotesHandler), (r"/api/sample/hello", HelloHandler),
            (r"/api/sample/pokes", PokeHandler)]


@hookimpl
def fync_notification_types():
    return {"sample:poke": "Someone poked you"}


@hookimpl
def fync_migrations():
    return Path(__file__).parent / "migrations"


@hookimpl
def fync_api_index(user):
    return {"sample_notes": "/api/sample/notes"}


@hookimpl
async def fync_startup(app):
    RECORDED.append(("startup", app.cfg.instance.name))


@hookimpl
def fync_shutdown(app):
    RECORDED.append(("shutdown",))


@hookimpl
def fync_user_created(event):
    RECORDED.append(event)


@hookimpl
def fync_friendship_created(event):
    RECORDED.append(event)


@hookimpl
def fync_event_created(event):
    RECORDED.append(event)


@hookimpl
async def fync_token_issued(event):
    RECORDED.append(event)


@hookimpl
def fync_token_revoked(event):
    RECORDED.append(event)


class NotesHandler(ApiHandler):
    @requires_scope("sample:read")
    async def get(self):
        rows = await self.db.fetchall("SELECT body FROM sample_notes WHERE user_id = ? ORDER BY id",
                                      (self.current_user.id,))
        self.write_json({"items": [r["body"] for r in rows], "greeting": self.plugin_config.get("greeting")})

    @requires_scope("sample:write")
    async def post(self):
        body = str(self.json_body().get("body", ""))
        async with self.db.transaction() as tx:
            await tx.insert("INSERT INTO sample_notes (user_id, body) VALUES (?, ?)", (self.current_user.id, body))
        self.write_json({"body": body}, 201)


class HelloHandler(ApiHandler):
    @public
    def get(self):
        self.write_json({"hello": self.current_user.username if self.current_user else None})


class PokeHandler(ApiHandler):
    @requires_scope("sample:write")
    async def post(self):
        """Poke someone: they get a notification (and a push on their devices)."""
        user_id = self.json_body().get("user_id")
        async with self.db.transaction() as tx:
            notification_id = await record_notification(tx, user_id, "sample:poke", self.current_user.id,
                                                        url=f"/u/{self.current_user.username}")
        self.write_json({"notification": notification_id}, 201)
