"""User accounts and their API tokens (admin only)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from api.schemas.common import to_datetime
from store.accounts import MIN_PASSWORD, NAME_RE, UserInfo, check_name
from store.roles import Role


class UserOut(BaseModel):
    name: str
    role: Role
    has_password: bool = Field(description="False: a token-only account (no console login).")
    tokens: int = Field(description="Number of API tokens issued, not revoked, not expired.")
    created_at: datetime

    @classmethod
    def of(cls, info: UserInfo) -> UserOut:
        return cls(
            name=info.name,
            role=info.role,
            has_password=info.has_password,
            tokens=info.tokens,
            created_at=to_datetime(info.created_at),
        )


def _valid_name(name: str) -> str:
    return check_name(name)  # InvalidAccount is a ValueError: a 422 with the rule in words


# The rules of store.accounts, in the schema (the pattern) and checked with a readable message.
UserName = Annotated[
    str,
    AfterValidator(_valid_name),
    Field(
        description="1-64 letters, digits or . _ @ -, starting with a letter or digit.",
        json_schema_extra={"pattern": NAME_RE.pattern},
    ),
]
Password = Annotated[str, Field(min_length=MIN_PASSWORD, max_length=1000)]


class UserIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: UserName
    role: Role = Role.VIEWER
    password: Password | None = Field(None, description="None: token-only account (a script).")


class UserPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    role: Role | None = None
    password: Password | None = Field(
        None, description="Ends the user's sessions and revokes their API tokens."
    )


class TokenIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    label: str = Field("", max_length=100, description="What the token is for.")


class TokenOut(BaseModel):
    token: str = Field(description="Shown once: send as 'Authorization: Bearer <token>'.")
    expires_at: datetime | None = Field(
        description="When it stops working (auth.token_days); null: until revoked."
    )
