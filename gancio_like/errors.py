"""Every error Fync answers with. Each carries its own status, body and headers, so a
handler base renders any of them in one `write_error`: as the SPEC's
`{"error", "error_description"}` JSON (API) or as a page (web). The OAuth protocol's
errors (oauth/errors.py) and federation's are subclasses. Also FetchError, which is
never an answer by itself. No internal imports."""
from __future__ import annotations


class FyncError(Exception):
    status_code = 400
    error = "invalid_request"
    retry_after: int | None = None  # seconds, for the 429 and 503 errors that know when to come back

    def __init__(self, description: str = ""):
        super().__init__(description)
        self.description = description

    def body(self) -> dict:
        return {"error": self.error, "error_description": self.description}

    def headers(self) -> dict[str, str]:
        """The response headers this error needs (RFC 9110 §10.2.3: Retry-After)."""
        return {"Retry-After": str(self.retry_after)} if self.retry_after else {}


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


class MethodNotAllowed(FyncError):
    """RFC 9110 §15.5.6: a 405 names the methods that do work here."""

    status_code = 405

    def __init__(self, allowed: list[str]):
        super().__init__("Method Not Allowed")
        self.allowed = allowed

    def headers(self) -> dict[str, str]:
        return {"Allow": ", ".join(self.allowed)}


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

    def __init__(self, description: str, retry_after: int | None = None):
        super().__init__(description)
        self.retry_after = retry_after


class StatusError(FyncError):
    """A status with no error of Fync's behind it: Tornado's own (a missing argument,
    a failed XSRF check) or an unexpected fault (500). Its reason phrase describes it."""

    def __init__(self, status_code: int, reason: str):
        super().__init__(reason)
        self.status_code = status_code
        self.error = "server_error" if status_code >= 500 else "invalid_request"


class FetchError(Exception):
    """A URL someone else chose was not fetched, or its answer was not usable; the message
    says why. net.py raises it; protocol code that is handed a fetch (oauth/cimd.py)
    catches it without importing the HTTP client. `status` is the HTTP status when the
    server answered one that was refused."""

    def __init__(self, message: str, status: int | None = None):
        super().__init__(message)
        self.status = status
