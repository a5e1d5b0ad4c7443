"""API tokens: 256-bit random strings shown once, stored as SHA-256 digests, with an expiry.

They are too long to guess, so a fast hash is enough and a lookup needs no scan. A token stops
working at ``expires_at`` (``auth.token_days`` after it was issued; None: until revoked), when
it is revoked, or when its user's password changes (:meth:`store.accounts.AuthStore.update_user`).
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import ColumnElement, delete, or_, select
from sqlalchemy.orm import Session, sessionmaker

from store.account_tables import TokenRow, UserRow
from store.sql import rowcount

TOKEN_PREFIX = "ew_"


@dataclass(frozen=True, slots=True)
class NewToken:
    """An API token as issued: shown once; ``expires_at`` epoch s, None: until revoked."""

    token: str
    expires_at: float | None


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


class TokenStore:
    """Issues, finds and revokes API tokens (the token part of the account store)."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        clock: Callable[[], float],
        lifetime_s: float | None,
    ) -> None:
        self._sessions, self._clock, self._lifetime_s = sessions, clock, lifetime_s

    def issue(self, user_id: int, label: str = "") -> NewToken:
        """A new token for the user; only its digest is kept, so show it now."""
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        now = self._clock()
        expires_at = None if self._lifetime_s is None else now + self._lifetime_s
        row = TokenRow(
            user_id=user_id,
            digest=digest(token),
            label=label,
            created_at=now,
            expires_at=expires_at,
        )
        with self._sessions() as session:
            session.add(row)
            session.commit()
        return NewToken(token, expires_at)

    def live(self) -> ColumnElement[bool]:
        """The condition of a token row that still works now."""
        return or_(TokenRow.expires_at.is_(None), TokenRow.expires_at > self._clock())

    def user_row(self, token: str) -> UserRow | None:
        """The user of a live ``token``, None for an unknown, expired or revoked one."""
        query = select(UserRow).join(TokenRow).where(TokenRow.digest == digest(token), self.live())
        with self._sessions() as session:
            return session.scalar(query)

    @staticmethod
    def revoke(session: Session, user_id: int) -> int:
        """Delete the user's tokens in ``session`` (the caller commits); how many there were."""
        return rowcount(session.execute(delete(TokenRow).where(TokenRow.user_id == user_id)))
