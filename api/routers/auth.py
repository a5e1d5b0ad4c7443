"""Console login and logout, the current user, changing one's own password."""

from __future__ import annotations

import threading
import time
from collections import deque

from fastapi import APIRouter, HTTPException, Request, Response, status
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from api.auth import AUTH_RESPONSES, CSRF_COOKIE, SESSION_COOKIE, AuthDep, CurrentPrincipal, Role
from api.auth_store import SESSION_IDLE_S, AuthError, InvalidAccount
from api.schemas import responses

router = APIRouter(prefix="/api/auth", tags=["auth"])

# Failed logins per user name within the window before further tries are refused for a while:
# argon2 already makes each guess cost ~50 ms; this stops a patient guesser on one account.
MAX_FAILURES = 5
FAILURE_WINDOW_S = 300.0


class LoginIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=1000)


class PasswordIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    current: str = Field(max_length=1000)
    new: str = Field(min_length=1, max_length=1000)


class MeOut(BaseModel):
    name: str
    role: Role
    csrf_token: str | None = Field(
        description="Send in X-CSRF-Token with cookie-authenticated POST/PUT/PATCH/DELETE; "
        "null for bearer-token callers, who need none."
    )


class _Throttle:
    """Failed login attempts per name (in memory: a restart forgets them)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._failures: dict[str, deque[float]] = {}

    def blocked_for(self, name: str, now: float) -> float:
        with self._lock:
            recent = self._failures.get(name)
            while recent and now - recent[0] > FAILURE_WINDOW_S:
                recent.popleft()
            if recent is None or len(recent) < MAX_FAILURES:
                return 0.0
            return FAILURE_WINDOW_S - (now - recent[0])

    def fail(self, name: str, now: float) -> None:
        with self._lock:
            self._failures.setdefault(name, deque(maxlen=MAX_FAILURES)).append(now)

    def clear(self, name: str) -> None:
        with self._lock:
            self._failures.pop(name, None)


_throttle = _Throttle()


def _set_cookies(request: Request, response: Response, token: str, csrf: str) -> None:
    # Lax, not Strict: a link to the console from a message or another tool opens it logged in.
    # Cross-site POSTs carry no cookie under Lax, and every state change also needs the CSRF
    # header. Secure when served over HTTPS (behind a proxy: run uvicorn with proxy headers).
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
    responses=responses({401: "Wrong user name or password.", 429: "Too many failed tries."}),
)
async def login(body: LoginIn, request: Request, response: Response, auth: AuthDep) -> MeOut:
    """JSON only (a cross-site form cannot send it). Answers the user and the CSRF token."""
    now = time.monotonic()
    wait = _throttle.blocked_for(body.name, now)
    if wait > 0:
        raise HTTPException(
            status.HTTP_429_TOO_MANY_REQUESTS,
            f"too many failed logins for {body.name!r}; try again in {wait:.0f} s",
            headers={"Retry-After": f"{wait:.0f}"},
        )
    # argon2 takes tens of milliseconds of CPU: keep it off the event loop.
    user = await run_in_threadpool(auth.verify_password, body.name, body.password)
    if user is None:
        _throttle.fail(body.name, now)
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "wrong user name or password")
    _throttle.clear(body.name)
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
    | responses({400: "The new password is too short.", 401: "Wrong current password."}),
)
async def change_password(
    body: PasswordIn,
    principal: CurrentPrincipal,
    request: Request,
    response: Response,
    auth: AuthDep,
) -> None:
    name = principal.user.name
    if await run_in_threadpool(auth.verify_password, name, body.current) is None:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "the current password is wrong")
    try:
        user = await run_in_threadpool(auth.update_user, name, password=body.new)
    except InvalidAccount as exc:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, str(exc)) from exc
    except AuthError as exc:  # deleted meanwhile
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, str(exc)) from exc
    if principal.csrf is not None:  # a console user stays logged in with a fresh session
        session = await run_in_threadpool(auth.open_session, user)
        _set_cookies(request, response, session.token, session.csrf)
