"""Roles and the accounts that hold them, as the account store hands them out.

Roles are ordered: viewer < operator < admin.

>>> Role.ADMIN >= Role.OPERATOR
True
>>> Role.VIEWER >= "operator"
False
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Role(StrEnum):
    """What an account may do; compares by rank (``Role.ADMIN >= Role.OPERATOR``)."""

    VIEWER = "viewer"  # read events, cameras, snapshots, statistics, exports
    OPERATOR = "operator"  # and confirm or dismiss events
    ADMIN = "admin"  # and manage users, cameras, masks, departments

    @property
    def rank(self) -> int:
        return _RANK[self]

    def __ge__(self, other: str) -> bool:
        return self.rank >= Role(other).rank

    def __gt__(self, other: str) -> bool:
        return self.rank > Role(other).rank

    def __le__(self, other: str) -> bool:
        return self.rank <= Role(other).rank

    def __lt__(self, other: str) -> bool:
        return self.rank < Role(other).rank


_RANK = {Role.VIEWER: 0, Role.OPERATOR: 1, Role.ADMIN: 2}


@dataclass(frozen=True, slots=True)
class User:
    """An authenticated account. ``name`` is what decisions record as the operator."""

    id: int
    name: str
    role: Role
