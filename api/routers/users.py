"""User accounts (admin only): list, create, change role or password, delete, API tokens."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, status

from api.auth import AUTH_RESPONSES, RequireAdmin
from api.deps import AuthDep, LoginGuardDep
from api.login_guard import hashed
from api.schemas.common import responses, to_datetime
from api.schemas.users import TokenIn, TokenOut, UserIn, UserOut, UserPatch
from store.accounts import (
    LastAccess,
    UserExists,
    UserNotFound,
)
from store.roles import Role

router = APIRouter(prefix="/api/users", tags=["users"], responses=AUTH_RESPONSES)

_NO_USER = {404: "No such user."}


def _find(auth: AuthDep, name: str) -> UserOut:
    for info in auth.list_users():
        if info.name == name:
            return UserOut.of(info)
    raise HTTPException(status.HTTP_404_NOT_FOUND, f"user {name!r} does not exist")


@router.get("", summary="All users")
def list_users(_admin: RequireAdmin, auth: AuthDep) -> list[UserOut]:
    return [UserOut.of(info) for info in auth.list_users()]


@router.post(
    "",
    summary="Create a user",
    status_code=201,
    responses=responses({409: "The name is taken."}),
)
async def create_user(
    body: UserIn, _admin: RequireAdmin, auth: AuthDep, guard: LoginGuardDep
) -> UserOut:
    try:
        await hashed(guard, auth.add_user, body.name, body.role, body.password)
    except UserExists as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from exc
    return _find(auth, body.name)


@router.patch(
    "/{name}",
    summary="Change a user's role or password",
    responses=responses(_NO_USER | {400: "An admin demoting themself."}),
)
async def update_user(
    name: str, body: UserPatch, admin: RequireAdmin, auth: AuthDep, guard: LoginGuardDep
) -> UserOut:
    if name == admin.name and body.role is not None and body.role != Role.ADMIN:
        # Otherwise the last admin can lock everybody out of user management.
        raise HTTPException(status.HTTP_400_BAD_REQUEST, "an admin cannot demote themself")
    try:
        await hashed(guard, auth.update_user, name, role=body.role, password=body.password)
    except UserNotFound as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from exc
    return _find(auth, name)


@router.delete(
    "/{name}",
    summary="Delete a user (their tokens and sessions end)",
    status_code=204,
    responses=responses(_NO_USER | {400: "An admin deleting themself."}),
)
def delete_user(name: str, admin: RequireAdmin, auth: AuthDep) -> None:
    if name == admin.name:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, "an admin cannot delete themself")
    try:
        auth.delete_user(name)
    except UserNotFound as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from exc


@router.post(
    "/{name}/tokens",
    summary="Issue an API token for a user",
    status_code=201,
    responses=responses(_NO_USER),
)
def issue_token(
    name: str, _admin: RequireAdmin, auth: AuthDep, body: TokenIn | None = None
) -> TokenOut:
    try:
        new = auth.new_token(name, body.label if body else "")
    except UserNotFound as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from exc
    return TokenOut(token=new.token, expires_at=to_datetime(new.expires_at))


@router.delete(
    "/{name}/tokens",
    summary="Revoke all API tokens of a user",
    status_code=204,
    responses=responses(
        _NO_USER
        | {409: "The caller's own tokens, while they have no password: their last credential."}
    ),
)
def revoke_tokens(name: str, admin: RequireAdmin, auth: AuthDep) -> None:
    try:
        auth.revoke_tokens(name, actor=admin.name)
    except UserNotFound as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from exc
    except LastAccess as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from exc
