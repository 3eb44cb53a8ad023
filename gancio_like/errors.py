"""Typed domain errors. Services raise them; handlers render them in the SPEC's
`{"error", "error_description"}` shape (API) or as a page (web). No internal imports."""
from __future__ import annotations


class FyncError(Exception):
    status_code = 400
    error = "invalid_request"

    def __init__(self, description: str = ""):
        super().__init__(description)
        self.description = description

    def body(self) -> dict:
        return {"error": self.error, "error_description": self.description}


class ValidationError(FyncError):
    """Bad input; `field` names the form field or JSON key at fault."""

    def __init__(self, description: str, field: str | None = None):
        super().__init__(description)
        self.field = field


class Unauthorized(FyncError):
    status_code = 401
    error = "unauthorized"


class Forbidden(FyncError):
    status_code = 403
    error = "forbidden"


class NotFound(FyncError):
    status_code = 404
    error = "not_found"

    def __init__(self, what: str):
        super().__init__(f"no such {what}")


class Conflict(FyncError):
    status_code = 409
    error = "conflict"


class TooManyRequests(FyncError):
    status_code = 429
    error = "too_many_requests"

    def __init__(self, description: str, retry_after: int):
        super().__init__(description)
        self.retry_after = max(1, int(retry_after))


class Unavailable(FyncError):
    status_code = 503
    error = "temporarily_unavailable"
