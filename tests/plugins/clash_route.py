"""Declares a route the core already serves: must stop startup."""
from gancio_like.plugins import ApiHandler, hookimpl, public


class Me(ApiHandler):
    @public
    def get(self):
        self.write_json({})


@hookimpl
def fync_routes():
    return [(r"/api/me", Me)]
