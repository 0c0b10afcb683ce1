"""What the platform's calls return: named, typed, immutable rows, and pages with their cursor.

Rows are NamedTuples, built straight from the row PostgreSQL sends (`tuple.__new__`: no Python
frame per row), so that naming the fields costs the hot pages next to nothing. A page builds
each row when it is read; its `next` is the cursor to pass back as `after=` for the page after
it, never a position in a tuple.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from functools import partial
from typing import Any, NamedTuple, Protocol, TypeVar, overload
from uuid import UUID


@dataclass(frozen=True)
class Cursor:
    """Where a page ended: pass it back as `after=` for the next page (keyset pagination)."""

    at: datetime
    id: UUID


class InboxRow(NamedTuple):
    """An open conversation of an account, as the inbox lists them (most recent first)."""

    id: UUID
    platform_conversation_id: str
    participant_username: str | None
    last_message_at: datetime | None
    unread_count: int  # the customer's messages not yet read

    @property
    def cursor(self) -> Cursor | None:
        # A conversation with no message yet sorts last and ends the listing.
        return None if self.last_message_at is None else Cursor(self.last_message_at, self.id)


class MessageRow(NamedTuple):
    """A message of a conversation (newest first)."""

    id: UUID
    sender_type: str  # "customer" or "user"
    message_type: str
    content: str | None
    sent_at: datetime
    is_read: bool

    @property
    def cursor(self) -> Cursor:
        return Cursor(self.sent_at, self.id)


class ProductHit(NamedTuple):
    """A product matching a search, best first (`rank`: higher is better)."""

    id: UUID
    name: str
    price: Decimal | None
    rank: float


class DashboardDay(NamedTuple):
    """A seller's events of one day (UTC) and category, summed."""

    date: date
    category: str
    events: int
    total_value: Decimal | None  # None for a category whose events carry no value


class Account(NamedTuple):
    """A client account (an Instagram or WhatsApp account) connected by the seller."""

    id: UUID
    platform: str
    platform_account_id: str
    username: str
    status: str
    reconnected: bool  # True when a disconnected account of the seller's came back


class Product(NamedTuple):
    id: UUID
    name: str
    description: str | None
    price: Decimal | None
    currency: str
    stock_quantity: int | None
    is_available: bool
    archived: bool


class Notification(NamedTuple):
    id: UUID
    type: str
    title: str
    message: str
    action_url: str | None
    is_read: bool
    created_at: datetime


class Route(NamedTuple):
    """Whose webhook this is: the seller and the account of a live connection."""

    seller_id: UUID
    account_id: UUID


class SignIn(NamedTuple):
    """What sign-in needs of a live user, found by email before any seller is known."""

    user_id: UUID
    password_hash: str
    email_verified: bool


class _Paged(Protocol):
    @property
    def cursor(self) -> Cursor | None: ...


RowT = TypeVar("RowT", bound=tuple[Any, ...])
PagedT = TypeVar("PagedT", InboxRow, MessageRow)


def maker(row_type: type[RowT]) -> Callable[[Sequence[Any]], RowT]:
    """Builds `row_type` from a row as sent, with no Python frame per row."""
    return partial(tuple.__new__, row_type)


def typed(row_type: type[RowT], raw: Sequence[Sequence[Any]]) -> list[RowT]:
    return list(map(maker(row_type), raw))


@dataclass(frozen=True, eq=False)
class Rows(Sequence[RowT]):
    """Rows of one type, read-only, each built when it is read; equal to any sequence of the same rows."""

    raw: Sequence[Sequence[Any]]
    row_type: type[RowT]

    def __len__(self) -> int:
        return len(self.raw)

    @overload
    def __getitem__(self, index: int) -> RowT: ...
    @overload
    def __getitem__(self, index: slice) -> list[RowT]: ...
    def __getitem__(self, index: int | slice) -> RowT | list[RowT]:
        if isinstance(index, slice):
            return typed(self.row_type, self.raw[index])
        return maker(self.row_type)(self.raw[index])

    def __iter__(self) -> Iterator[RowT]:
        return map(maker(self.row_type), self.raw)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Sequence) and list(self) == list(other)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({list(self)!r})"


@dataclass(frozen=True, eq=False, repr=False)
class Page(Rows[PagedT]):
    """One page of rows; `next` is the cursor of the page after it, None when this one was the last."""

    limit: int = 0

    @property
    def next(self) -> Cursor | None:
        if not self.raw or len(self.raw) < min(self.limit, MAX_PAGE):
            return None
        last: _Paged = self[-1]
        return last.cursor


MAX_PAGE = 200  # the page functions return at most this many rows (seller_limit, migration 025)
