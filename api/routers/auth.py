"""Console login and logout, the current user, changing one's own password."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request, Response, status
from starlette.concurrency import run_in_threadpool

from api.auth import AUTH_RESPONSES, CSRF_COOKIE, SESSION_COOKIE, CurrentPrincipal
from api.deps import AuthDep, LoginGuardDep
from api.login_guard import client_address, hashed, password_attempt
from api.schemas.auth import LoginIn, MeOut, PasswordIn
from api.schemas.common import responses
from store.accounts import SESSION_IDLE_S, AuthError

router = APIRouter(prefix="/api/auth", tags=["auth"])


def _set_cookies(request: Request, response: Response, token: str, csrf: str) -> None:
    # Lax, not Strict: a link to the console from a message or another tool opens it logged in.
    # Cross-site POSTs carry no cookie under Lax, and every state change also needs the CSRF
    # header. Secure when served over HTTPS (behind a proxy: set server.forwarded_allow_ips).
    secure = request.url.scheme == "https"
    max_age = int(SESSION_IDLE_S)
    response.set_cookie(
        SESSION_COOKIE, token, max_age=max_age, httponly=True, samesite="lax", secure=secure
    )
    # Readable by the console's script (double-submit CSRF token), useless to other sites.
    response.set_cookie(
        CSRF_COOKIE, csrf, max_age=max_age, httponly=False, samesite="lax", secure=secure
    )


@router.post(
    "/login",
    summary="Log in to the console: sets the session cookie",
    responses=responses(
        {
            401: "Wrong user name or password.",
            429: "Too many failed tries for this name from this address.",
            503: "Too many logins at once.",
        }
    ),
)
async def login(
    body: LoginIn, request: Request, response: Response, auth: AuthDep, guard: LoginGuardDep
) -> MeOut:
    """JSON only (a cross-site form cannot send it). Answers the user and the CSRF token.
    Failed attempts are limited per user name and client address (``auth.max_failures``)."""
    key = (body.name, client_address(request))
    user = await password_attempt(guard, key, auth.verify_password, body.password)
    if user is None:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "wrong user name or password")
    session = await run_in_threadpool(auth.open_session, user)
    _set_cookies(request, response, session.token, session.csrf)
    return MeOut(name=user.name, role=user.role, csrf_token=session.csrf)


@router.post("/logout", summary="End the console session", status_code=204)
def logout(request: Request, response: Response, auth: AuthDep) -> None:
    """Always succeeds; the session (if any) is removed and the cookies are cleared."""
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        auth.close_session(token)
    response.delete_cookie(SESSION_COOKIE)
    response.delete_cookie(CSRF_COOKIE)


@router.get("/me", summary="Who is logged in", responses=AUTH_RESPONSES)
def me(principal: CurrentPrincipal) -> MeOut:
    user = principal.user
    return MeOut(name=user.name, role=user.role, csrf_token=principal.csrf)


@router.post(
    "/password",
    summary="Change one's own password (ends one's other sessions)",
    status_code=204,
    responses=AUTH_RESPONSES
    | responses(
        {
            401: "Wrong current password.",
            429: "Too many wrong current passwords from this address.",
            503: "Too many password checks at once.",
        }
    ),
)
async def change_password(
    body: PasswordIn,
    principal: CurrentPrincipal,
    request: Request,
    response: Response,
    auth: AuthDep,
    guard: LoginGuardDep,
) -> None:
    name = principal.user.name
    # Limited like a login: a stolen session must not become a way to guess the password.
    key = (name, client_address(request))
    if await password_attempt(guard, key, auth.verify_password, body.current) is None:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "the current password is wrong")
    try:
        user = await hashed(guard, auth.update_user, name, password=body.new)
    except AuthError as exc:  # deleted meanwhile
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, str(exc)) from exc
    if principal.csrf is not None:  # a console user stays logged in with a fresh session
        session = await run_in_threadpool(auth.open_session, user)
        _set_cookies(request, response, session.token, session.csrf)
