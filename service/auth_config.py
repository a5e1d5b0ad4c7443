"""Settings of accounts: the login limiter, the password hashing pool, API token lifetime."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class AuthConfig(BaseModel):
    """``auth:`` in the configuration file."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    max_failures: int = Field(
        5,
        ge=1,
        le=1000,
        description="Login attempts one client address may make for one user name within "
        "failure_window_s before it gets 429; counted before the password is checked, so "
        "concurrent guesses cannot slip through. Other addresses are not affected.",
    )
    failure_window_s: float = Field(
        300.0, gt=0, le=86400, description="How long a failed attempt counts."
    )
    tracked_clients: int = Field(
        10_000,
        ge=100,
        le=1_000_000,
        description="Most (user name, address) pairs remembered; the oldest are forgotten first.",
    )
    hash_threads: int = Field(
        2,
        ge=1,
        le=64,
        description="Threads that check and hash passwords (argon2 takes ~64 MiB and tens of "
        "milliseconds each): a login flood cannot take the memory or the other endpoints.",
    )
    hash_queue: int = Field(
        32,
        ge=0,
        le=10_000,
        description="Password checks that may wait for a thread; beyond this a login gets 503.",
    )
    token_days: float | None = Field(
        90.0,
        gt=0,
        le=3650,
        description="Days an API token stays valid after it is issued; null: until revoked.",
    )

    @property
    def token_lifetime_s(self) -> float | None:
        return None if self.token_days is None else self.token_days * 86400.0
