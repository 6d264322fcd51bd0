"""The console's errors, each with a stable machine code."""

from __future__ import annotations

import httpx

from shared.errors import FrontdeskError, Gone, ServiceCallFailed, Unauthorized


class NotSignedIn(Unauthorized):
    code = "not_signed_in"
    title = "Sign in to use the console"


class LinkExpired(Gone):
    code = "sign_in_link_expired"
    title = "This sign-in link has expired or was used"


class ApiProblem(FrontdeskError):
    """A service's problem+json answer, carried to the page: its status, code and field errors."""

    @classmethod
    def from_response(cls, response: httpx.Response) -> ApiProblem:
        """The problem a service answered (status, code, detail and field errors)."""
        try:
            body = response.json()
        except ValueError:
            body = {}
        body = body if isinstance(body, dict) else {}
        kind = TokenRefused if response.status_code == 401 else cls
        problem = kind(
            body.get("detail") or f"HTTP {response.status_code}",
            code=str(body.get("code") or "http_error"),
            errors=body.get("errors") if isinstance(body.get("errors"), dict) else None,
        )
        problem.status = response.status_code
        return problem


class TokenRefused(ApiProblem):
    """A service no longer accepts the person's token (revoked there, e.g. by an admin): the
    console session ends too and the browser goes to the sign-in page."""


class PrivacyCallFailed(ServiceCallFailed):
    """A service refused or failed a personal-data call (export or erasure)."""

    code = "privacy_call_failed"
