"""Accounts, API tokens and console sessions in the event database.

Passwords are argon2id hashes (``argon2-cffi``); an account without a password (made for a
script) can only use API tokens (:mod:`store.tokens`). Session ids are 256-bit random
strings stored as SHA-256 digests, like tokens; sessions expire after :data:`SESSION_IDLE_S`
without use. A new password ends the user's sessions and revokes their API tokens: a reset
after a leak must shut out whoever held them.
"""

from __future__ import annotations

import logging
import os
import re
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Engine, delete, func, select, update
from sqlalchemy.orm import sessionmaker

from store.account_tables import SessionRow, TokenRow, UserRow
from store.roles import Role, User
from store.tokens import NewToken, TokenStore, digest

log = logging.getLogger(__name__)

# A console left open on a control-room wall stays logged in while it is used; 12 h without a
# request (a shift) logs it out. Renewed at most every 10 min so reads rarely write.
SESSION_IDLE_S = 12 * 3600.0
_RENEW_AFTER_S = 600.0
INITIAL_ADMIN = "admin"
INITIAL_PASSWORD_FILE = "initial-admin-password.txt"
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$")
MIN_PASSWORD = 8


class AuthError(Exception):
    """Base of the account store's typed errors; the message is fit for an HTTP answer."""


class UserNotFound(AuthError, LookupError):
    def __init__(self, name: str) -> None:
        super().__init__(f"user {name!r} does not exist")


class UserExists(AuthError):
    def __init__(self, name: str) -> None:
        super().__init__(f"user {name!r} already exists")


class InvalidAccount(AuthError, ValueError):
    """A user name or password that does not meet the rules."""


class LastAccess(AuthError):
    """The change would leave the user who asks for it without any way to sign in."""


@dataclass(frozen=True, slots=True)
class UserInfo:
    """A user as listed to admins (never the hash)."""

    id: int
    name: str
    role: Role
    has_password: bool
    tokens: int
    created_at: float


@dataclass(frozen=True, slots=True)
class NewSession:
    """What a login hands out: the cookie value, its CSRF token and expiry (epoch s)."""

    token: str
    csrf: str
    expires_at: float


def check_name(name: str) -> str:
    if not NAME_RE.fullmatch(name):
        raise InvalidAccount(
            "a user name is 1-64 letters, digits or . _ @ - and starts with a letter or digit"
        )
    return name


def check_password(password: str) -> str:
    if len(password) < MIN_PASSWORD:
        raise InvalidAccount(f"a password needs at least {MIN_PASSWORD} characters")
    return password


def _user(row: UserRow) -> User:
    return User(row.id, row.name, Role(row.role))


class AuthStore:
    """Users, tokens and sessions. Thread-safe (one short transaction per call)."""

    def __init__(
        self,
        engine: Engine,
        *,
        hasher: PasswordHasher | None = None,
        clock: Callable[[], float] = time.time,
        token_lifetime_s: float | None = None,
    ) -> None:
        """``token_lifetime_s``: how long a new API token is valid; None: until revoked."""
        self._sessions = sessionmaker(engine, expire_on_commit=False)
        self._hasher = hasher or PasswordHasher()
        self._clock = clock
        self.tokens = TokenStore(self._sessions, clock, token_lifetime_s)
        # Verified against when the name is unknown, so a miss takes as long as a wrong password.
        self._dummy = self._hasher.hash(secrets.token_urlsafe(16))

    # --- users --------------------------------------------------------------------------

    def add_user(self, name: str, role: Role, password: str | None = None) -> User:
        """Create an account; ``password`` None makes a token-only account.

        Raises:
            InvalidAccount: bad name or too short a password.
            UserExists: the name is taken.
        """
        check_name(name)
        hashed = self._hasher.hash(check_password(password)) if password is not None else None
        with self._sessions() as session:
            if session.scalar(select(UserRow.id).where(UserRow.name == name)) is not None:
                raise UserExists(name)
            row = UserRow(name=name, role=role, password_hash=hashed, created_at=self._clock())
            session.add(row)
            session.commit()
            log.info("user %s created with role %s", name, role.value)
            return _user(row)

    def get_user(self, name: str) -> User:
        with self._sessions() as session:
            row = session.scalar(select(UserRow).where(UserRow.name == name))
            if row is None:
                raise UserNotFound(name)
            return _user(row)

    def count_users(self) -> int:
        with self._sessions() as session:
            return int(session.scalar(select(func.count()).select_from(UserRow)) or 0)

    def list_users(self) -> list[UserInfo]:
        counts = (
            select(TokenRow.user_id, func.count().label("n"))
            .where(self.tokens.live())
            .group_by(TokenRow.user_id)
            .subquery()
        )
        query = (
            select(UserRow, counts.c.n)
            .outerjoin(counts, counts.c.user_id == UserRow.id)
            .order_by(UserRow.name)
        )
        with self._sessions() as session:
            return [
                UserInfo(
                    u.id, u.name, Role(u.role), u.password_hash is not None, n or 0, u.created_at
                )
                for u, n in session.execute(query).all()
            ]

    def update_user(
        self, name: str, *, role: Role | None = None, password: str | None = None
    ) -> User:
        """Change the role and/or password; a new password ends the user's sessions and
        revokes their API tokens."""
        values: dict[str, object] = {}
        if role is not None:
            values["role"] = role
        if password is not None:
            values["password_hash"] = self._hasher.hash(check_password(password))
        with self._sessions() as session:
            row = session.scalar(select(UserRow).where(UserRow.name == name))
            if row is None:
                raise UserNotFound(name)
            if values:
                session.execute(update(UserRow).where(UserRow.id == row.id).values(**values))
            if password is not None:
                session.execute(delete(SessionRow).where(SessionRow.user_id == row.id))
                self.tokens.revoke(session, row.id)
            session.commit()
            session.refresh(row)
            return _user(row)

    def delete_user(self, name: str) -> None:
        with self._sessions() as session:
            row = session.scalar(select(UserRow).where(UserRow.name == name))
            if row is None:
                raise UserNotFound(name)
            # Explicit deletes: SQLite enforces ON DELETE CASCADE only with foreign_keys=ON.
            self.tokens.revoke(session, row.id)
            session.execute(delete(SessionRow).where(SessionRow.user_id == row.id))
            session.delete(row)
            session.commit()
        log.info("user %s deleted", name)

    def verify_password(self, name: str, password: str) -> User | None:
        """The user when ``password`` is theirs; None otherwise (same cost either way)."""
        with self._sessions() as session:
            row = session.scalar(select(UserRow).where(UserRow.name == name))
        hashed = row.password_hash if row is not None else None
        try:
            self._hasher.verify(hashed or self._dummy, password)
        except (VerificationError, InvalidHashError):
            return None
        if row is None or hashed is None:
            return None
        if self._hasher.check_needs_rehash(hashed):
            # New hash parameters, same password: nothing to revoke.
            with self._sessions() as session:
                new_hash = self._hasher.hash(password)
                session.execute(
                    update(UserRow).where(UserRow.id == row.id).values(password_hash=new_hash)
                )
                session.commit()
        return _user(row)

    # --- API tokens ---------------------------------------------------------------------

    def new_token(self, name: str, label: str = "") -> NewToken:
        """A new API token for ``name``, valid for the store's token lifetime (shown once)."""
        return self.tokens.issue(self.get_user(name).id, label)

    def issue_token(self, name: str, label: str = "") -> str:
        """:meth:`new_token`, just the token."""
        return self.new_token(name, label).token

    def revoke_tokens(self, name: str, *, actor: str | None = None) -> int:
        """Revoke all of ``name``'s API tokens; return how many there were.

        Raises:
            UserNotFound: no such user.
            LastAccess: ``name`` has no password and is ``actor``: they would shut themselves
                out. (Through the API the actor is a signed-in admin, so another admin always
                keeps access; only their own tokens can be their last credential.)
        """
        with self._sessions() as session:
            row = session.scalar(select(UserRow).where(UserRow.name == name))
            if row is None:
                raise UserNotFound(name)
            if row.password_hash is None and name == actor:
                raise LastAccess(
                    f"{name} has no password: revoking these tokens would lock them out; "
                    "set a password first"
                )
            count = self.tokens.revoke(session, row.id)
            session.commit()
        return count

    def user_for_token(self, token: str) -> User | None:
        row = self.tokens.user_row(token)
        return _user(row) if row is not None else None

    # --- console sessions ---------------------------------------------------------------

    def open_session(self, user: User) -> NewSession:
        now = self._clock()
        new = NewSession(secrets.token_urlsafe(32), secrets.token_urlsafe(24), now + SESSION_IDLE_S)
        with self._sessions() as session:
            session.execute(delete(SessionRow).where(SessionRow.expires_at < now))
            session.add(
                SessionRow(
                    user_id=user.id,
                    digest=digest(new.token),
                    csrf=new.csrf,
                    created_at=now,
                    expires_at=new.expires_at,
                )
            )
            session.commit()
        return new

    def session_user(self, token: str) -> tuple[User, str] | None:
        """(user, CSRF token) of a live session, renewing its expiry; None when unknown/expired."""
        now = self._clock()
        query = select(SessionRow, UserRow).join(UserRow).where(SessionRow.digest == digest(token))
        with self._sessions() as session:
            found = session.execute(query).first()
            if found is None or found[0].expires_at <= now:
                return None
            sess, user = found
            if sess.expires_at - now < SESSION_IDLE_S - _RENEW_AFTER_S:
                sess.expires_at = now + SESSION_IDLE_S
                session.commit()
            return _user(user), sess.csrf

    def close_session(self, token: str) -> None:
        with self._sessions() as session:
            session.execute(delete(SessionRow).where(SessionRow.digest == digest(token)))
            session.commit()

    # --- first start --------------------------------------------------------------------

    def ensure_initial_admin(self, data_dir: Path) -> Path | None:
        """With no account at all, create ``admin`` with a random password written to
        ``data_dir/initial-admin-password.txt`` (mode 0600); return that path, else None."""
        if self.count_users():
            return None
        password = secrets.token_urlsafe(12)
        data_dir.mkdir(parents=True, exist_ok=True)
        path = data_dir / INITIAL_PASSWORD_FILE
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(password + "\n")
        os.chmod(path, 0o600)  # O_CREAT's mode does not apply to a file that already existed
        self.add_user(INITIAL_ADMIN, Role.ADMIN, password)
        log.warning(
            "first start: log in as user %r with the password in %s "
            "(change it in the console, then delete the file)",
            INITIAL_ADMIN,
            path,
        )
        return path
