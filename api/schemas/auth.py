"""Console login, the current user, changing one's own password."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from store.accounts import MIN_PASSWORD
from store.roles import Role


class LoginIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=1000)


class PasswordIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    current: str = Field(max_length=1000)
    new: str = Field(min_length=MIN_PASSWORD, max_length=1000)


class MeOut(BaseModel):
    name: str
    role: Role
    csrf_token: str | None = Field(
        description="Send in X-CSRF-Token with cookie-authenticated POST/PUT/PATCH/DELETE; "
        "null for bearer-token callers, who need none."
    )
