"""Accounts and roles: who is calling, and may they?

Two ways to authenticate, checked in this order:

* ``Authorization: Bearer <token>`` for API clients (``emberwatch users token NAME``).
  Bearer requests need no CSRF token: browsers never attach that header on their own.
* The ``emberwatch_session`` cookie set by ``POST /api/auth/login`` for the console. A
  state-changing request (POST, PUT, PATCH, DELETE) authenticated by the cookie must echo the
  session's CSRF token in the ``X-CSRF-Token`` header (double submit: the token is also in the
  readable ``emberwatch_csrf`` cookie and in the login and ``/api/auth/me`` answers), so another
  site cannot make a logged-in browser act.

Roles are ordered: viewer < operator < admin. Route dependencies::

    @router.post("/x")
    def x(user: RequireOperator) -> ...:   # 401 unauthenticated, 403 below operator

Tokens and session ids are stored as SHA-256 digests; passwords as argon2id hashes.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import APIKeyCookie, HTTPAuthorizationCredentials, HTTPBearer

from api.deps import get_auth
from api.schemas.common import Error
from store.roles import Role, User

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable


SESSION_COOKIE = "emberwatch_session"
CSRF_COOKIE = "emberwatch_csrf"
CSRF_HEADER = "X-CSRF-Token"
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_CHALLENGE = {"WWW-Authenticate": 'Bearer realm="emberwatch"'}

#: OpenAPI ``responses=`` for routers whose routes need an account.
AUTH_RESPONSES: dict[int | str, dict[str, object]] = {
    401: {"model": Error, "description": "Not authenticated (no or an invalid token/session)."},
    403: {"model": Error, "description": "The role is too low, or a console request lacks CSRF."},
}


@dataclass(frozen=True, slots=True)
class Principal:
    """A user and how the request proved it: ``csrf`` is the session's token, None for bearer."""

    user: User
    csrf: str | None


# Declared as security schemes so OpenAPI and /docs show how to authenticate; auto_error=False
# because a missing credential is answered below with our own 401 and challenge header.
_bearer = HTTPBearer(auto_error=False, description="API token from `emberwatch users token`.")
_cookie = APIKeyCookie(
    name=SESSION_COOKIE, auto_error=False, description="Console session (POST /api/auth/login)."
)


def unauthenticated(detail: str = "authentication required") -> HTTPException:
    return HTTPException(status.HTTP_401_UNAUTHORIZED, detail, headers=_CHALLENGE)


def _check_csrf(request: Request, expected: str) -> None:
    if request.method in _SAFE_METHODS:
        return
    sent = request.headers.get(CSRF_HEADER, "")
    if not sent or not hmac.compare_digest(sent.encode(), expected.encode()):
        raise HTTPException(
            status.HTTP_403_FORBIDDEN, f"missing or wrong {CSRF_HEADER} header (CSRF protection)"
        )


def current_principal(
    request: Request,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    session: Annotated[str | None, Depends(_cookie)],
) -> Principal:
    """The caller, from a bearer token or the session cookie; 401 when neither is valid."""
    auth = get_auth(request)
    if bearer is not None:
        user = auth.user_for_token(bearer.credentials)
        if user is None:
            raise unauthenticated("the API token is invalid or revoked")
        return Principal(user, None)
    if request.headers.get("authorization"):
        raise unauthenticated("the Authorization header must be 'Bearer <token>'")
    if session:
        found = auth.session_user(session)
        if found is not None:
            user, csrf = found
            _check_csrf(request, csrf)
            return Principal(user, csrf)
        raise unauthenticated("the session has expired; log in again")
    raise unauthenticated()


async def current_user(principal: Annotated[Principal, Depends(current_principal)]) -> User:
    return principal.user


def require(role: Role) -> Callable[[User], Awaitable[User]]:
    """A dependency that passes users with at least ``role`` and answers 403 to the others.

    ``async``: it only compares roles, so it runs on the event loop, not on a worker thread.
    """

    async def check(user: Annotated[User, Depends(current_user)]) -> User:
        if not user.role >= role:
            raise HTTPException(
                status.HTTP_403_FORBIDDEN,
                f"this needs the {role.value} role; {user.name} is {user.role.value}",
            )
        return user

    return check


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]
CurrentUser = Annotated[User, Depends(current_user)]
RequireViewer = Annotated[User, Depends(require(Role.VIEWER))]
RequireOperator = Annotated[User, Depends(require(Role.OPERATOR))]
RequireAdmin = Annotated[User, Depends(require(Role.ADMIN))]
