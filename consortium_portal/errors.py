"""The portal's errors: services raise these, and one handler (``http/errors.py``) turns each into its HTTP status."""

from __future__ import annotations

from typing import Any

from node_adapter.exceptions import NodeAdapterError


class PortalError(NodeAdapterError):
    """Root of the portal's errors; ``status`` is the HTTP status it answers with."""

    status = 400
    code = "bad_request"

    def extra(self) -> dict[str, Any]:
        """Fields the error's JSON body carries besides ``error`` and ``message``."""
        return {}


class NotSignedInError(PortalError):
    """No valid session or API key (missing, unknown, expired, revoked)."""

    status = 401
    code = "not_signed_in"


class SignInError(PortalError):
    """A sign-in that cannot be accepted: a bad signature, an unknown, used or expired challenge."""

    status = 401
    code = "sign_in_refused"


class ForbiddenError(PortalError, PermissionError):
    """Signed in, but not allowed: not an active member, a missing role, a read-only key."""

    status = 403
    code = "forbidden"


class NotFoundError(PortalError, LookupError):
    status = 404
    code = "not_found"


class ConflictError(PortalError):
    """The request is at odds with the state it meets (a signing window passed, a nonce moved on, a kind not
    registered, a member no longer in the state the request assumed)."""

    status = 409
    code = "conflict"


class InvalidInputError(PortalError, ValueError):
    status = 422
    code = "invalid_input"


class RateLimitedError(PortalError):
    status = 429
    code = "rate_limited"

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after
