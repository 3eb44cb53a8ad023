"""Declares a route whose method has no scope: must stop startup."""
from gancio_like.plugins import ApiHandler, hookimpl


class Open(ApiHandler):
    def get(self):
        self.write_json({})


@hookimpl
def fync_routes():
    return [(r"/api/no_scope", Open)]
