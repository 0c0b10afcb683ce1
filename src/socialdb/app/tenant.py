"""The seller a transaction acts for: row-level security reads it from `app.user_id`.

A scope belongs to the thread, or the event loop's task, that opened it: another one that
tries to open a scope on the same connection meanwhile is refused (`SellerScopeError`),
since it would read or write as the first one's seller. Nesting in the same thread or task
stays allowed. A pool's reset (`clear_seller`, `aclear_seller`) leaves nothing of a request
on the connection: DISCARD ALL closes its cursors (WITH HOLD ones too), deallocates its
prepared statements and resets every setting, the seller included.
"""

from __future__ import annotations

import asyncio
import itertools
import threading
from collections.abc import AsyncIterator, Iterator
from contextlib import AbstractAsyncContextManager, AbstractContextManager, asynccontextmanager, contextmanager
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import psycopg
from psycopg import sql
from psycopg.pq import PipelineStatus, TransactionStatus
from psycopg.rows import tuple_row

from socialdb.app.cluster import known
from socialdb.errors import NoSellerError, SellerScopeError

# The seller, for the transaction: SET LOCAL, not set_config(), so that on a Citus coordinator
# it reaches every worker the transaction uses. Citus replays a transaction's SET LOCAL commands
# on its worker connections when `citus.propagate_set_commands` is 'local' (set_config() it never
# sends); the setting goes with the seller, so the scope needs no database default. Elsewhere
# `citus.propagate_set_commands` is an unused placeholder, as in the runner's timeouts (decision
# 190). Two statements in one simple query: one round trip, as the set_config() it replaces, and
# no parameter to bind. The value is a UUID's text (hex digits and dashes), checked before it
# is put in (decision 211).
_SET = "SET LOCAL citus.propagate_set_commands = 'local'; SET LOCAL app.user_id = '{}'"
# Where the connection is known to be one server's (socialdb.app.cluster: a session asks once
# per connection), the seller goes by set_config(): one statement with a bound parameter, which
# psycopg prepares like any other, where the pair above is parsed on every scope (decision 275).
_SET_ONE_SERVER = "SELECT pg_catalog.set_config('app.user_id', %s, true)"
_CURRENT = "SELECT current_setting('app.user_id', true)"
# psycopg forgets its prepared statements when a statement it sees for the first time reports
# DISCARD ALL; a text it has seen before is only counted, unchecked. The first reset of a
# connection that had prepared nothing yet would make the text known, and a later reset would
# then leave psycopg naming statements the server no longer has ("prepared statement _pg3_0
# does not exist", found by tests/test_library.py). So each reset's text is new.
_DISCARD = "DISCARD ALL /* socialdb reset {} */"
_resets = itertools.count()


@dataclass
class _Holder:
    who: tuple[int, int | None]  # (thread, task)
    depth: int


# The holder lives in the connection's own attributes: a dict lookup, where the weak dictionary
# and global lock it replaces cost about 7 us of client CPU per call (docs/performance.md, "The
# session's guard"). dict.setdefault is one atomic step (one C call, a str key), so two threads
# that find no holder cannot both become it, and only the holder changes or removes it.
_KEY = "_socialdb_scope_holder"
# The cursor the sessions of a connection share (socialdb.app.session, decision 276) keeps its
# last result in the client's memory: the reset closes it, so that no row of one request stays
# with the connection for the next; the next request's first session makes a new one.
CURSOR = "_socialdb_cursor"


def _who() -> tuple[int, int | None]:
    # asyncio's C accessor: None outside a running loop, with no exception to raise and catch
    # on every call of a synchronous service (decision 119's hot path).
    loop = asyncio._get_running_loop()
    task = None if loop is None else asyncio.current_task(loop)
    return threading.get_ident(), None if task is None else id(task)


def _holder(conn: object) -> _Holder | None:
    held: _Holder | None = vars(conn).get(_KEY)
    return held


def claim(attributes: dict[str, Any]) -> _Holder:
    """Enter a scope on the connection whose attributes these are (vars(conn)): its holder, one
    level deeper; SellerScopeError when another thread or task holds it."""
    me = _who()
    holder: _Holder | None = attributes.get(_KEY)
    if holder is None:
        holder = attributes.setdefault(_KEY, _Holder(me, 0))
    if holder.who != me:
        raise SellerScopeError(
            "this connection is in a seller scope of another thread or task: give each its own connection"
            " (take one from a pool per request)"
        )
    holder.depth += 1
    return holder


def release(attributes: dict[str, Any], holder: _Holder) -> None:
    """Leave a scope that `claim` entered; the last one out frees the connection."""
    holder.depth -= 1
    if holder.depth == 0:
        attributes.pop(_KEY, None)


class hold:
    """Mark `conn` as in a scope of this thread or task for the block; refuse another's.
    A class, not a generator: it runs on every scoped call."""

    __slots__ = ("attributes", "holder")

    def __init__(self, conn: object) -> None:
        self.attributes: dict[str, Any] = vars(conn)

    def __enter__(self) -> None:
        self.holder = claim(self.attributes)

    def __exit__(self, *exc: object) -> None:
        release(self.attributes, self.holder)


def require_holder(conn: object) -> None:
    """Refuse a session's call from a thread or task other than the one that opened it: it
    would act for the session's seller on a connection another is using."""
    holder = _holder(conn)
    if holder is None or holder.who != _who():
        raise SellerScopeError(NOT_HOLDER)


NOT_HOLDER = "this session belongs to another thread or task (or has ended): open a session in each"


def holds(holder: _Holder) -> bool:
    """Whether this thread or task is the one that holds `holder`'s connection."""
    return holder.who == _who()


def seller_id(user_id: UUID | str) -> UUID:
    """A seller's id as a UUID; a malformed one fails here (ValueError), before any round trip."""
    return user_id if isinstance(user_id, UUID) else UUID(str(user_id))


def require_seller(conn: object, call: str) -> None:
    """Refuse a call that reads or writes as the current seller outside a scope of this thread
    or task: under row-level security it would answer quietly (nothing found, nothing changed)."""
    holder = _holder(conn)
    if holder is None or holder.who != _who():
        raise NoSellerError(
            f"{call} acts for a seller: call it inside `with seller(conn, user_id)` (socialdb.app.tenant)"
        )


def seller(conn: psycopg.Connection[Any], user_id: UUID | str) -> AbstractContextManager[psycopg.Connection[Any]]:
    """Run the block in a transaction scoped to one seller, and for exactly that block.

    Under the application role, every table then shows and accepts only that seller's rows.
    Outside a transaction the block is one (SET LOCAL ends with it). Inside one it is a
    savepoint, where SET LOCAL would outlive the block: the seller set before it is put
    back when the block ends (a failed block's savepoint rollback undoes it by itself).
    """
    return scope(conn, user_id, psycopg.Cursor(conn, row_factory=tuple_row))  # whatever the connection's rows


@contextmanager
def scope(
    conn: psycopg.Connection[Any], user_id: UUID | str, runner: psycopg.Cursor[Any]
) -> Iterator[psycopg.Connection[Any]]:
    """`seller`, its statements run by `runner`: a cursor of tuples (a session's own, decision 276)."""
    wanted = str(seller_id(user_id))  # checked: hex digits and dashes only (decision 211)
    with hold(conn):
        nested = conn.info.transaction_status != TransactionStatus.IDLE
        with conn.transaction():
            previous = _current(runner) if nested else None
            if known(conn) is False:
                runner.execute(_SET_ONE_SERVER, (wanted,))
            else:  # two commands: a simple query of the connection's, never a binary or prepared one
                conn.execute(_SET.format(wanted).encode())
            yield conn
            if nested:
                runner.execute(_restore(previous))


def aseller(
    conn: psycopg.AsyncConnection[Any], user_id: UUID | str
) -> AbstractAsyncContextManager[psycopg.AsyncConnection[Any]]:
    """`seller` for an `AsyncConnection`: the same scope, owned by the task that opened it."""
    return ascope(conn, user_id, psycopg.AsyncCursor(conn, row_factory=tuple_row))


@asynccontextmanager
async def ascope(
    conn: psycopg.AsyncConnection[Any],
    user_id: UUID | str,
    runner: psycopg.AsyncCursor[Any],
) -> AsyncIterator[psycopg.AsyncConnection[Any]]:
    """`scope` for an `AsyncConnection`."""
    wanted = str(seller_id(user_id))  # checked: hex digits and dashes only (decision 211)
    with hold(conn):
        nested = conn.info.transaction_status != TransactionStatus.IDLE
        async with conn.transaction():
            previous = await _acurrent(runner) if nested else None
            if known(conn) is False:
                await runner.execute(_SET_ONE_SERVER, (wanted,))
            else:  # two commands: a simple query of the connection's, never a binary or prepared one
                await conn.execute(_SET.format(wanted).encode())
            yield conn
            if nested:
                await runner.execute(_restore(previous))


def refuse_pipeline(conn: psycopg.Connection[Any] | psycopg.AsyncConnection[Any]) -> None:
    """The library's calls read each statement's result before the next one: in pipeline mode
    the result is not there yet, and a call would answer empty (found by review)."""
    if conn.pgconn.pipeline_status != PipelineStatus.OFF:
        raise SellerScopeError(
            "the connection is in pipeline mode: socialdb.app's calls need each result before the next"
            " statement (call them outside the `pipeline()` block)"
        )


def clear_seller(conn: psycopg.Connection[Any]) -> None:
    """Leave nothing of the last request on the session; a pool's `reset` callback, so a
    connection handed to the next request never acts for, or holds anything of, the previous
    one's seller: cursors (WITH HOLD too), prepared statements, settings, the seller.

    `psycopg_pool.ConnectionPool(url, reset=clear_seller)`: the pool calls it on an idle
    connection (it has rolled back any open transaction first).
    """
    _forget_cursor(conn)
    autocommit = conn.autocommit
    conn.autocommit = True  # DISCARD ALL refuses to run in a transaction block
    try:
        conn.execute(_DISCARD.format(next(_resets)))
    finally:
        conn.autocommit = autocommit


async def aclear_seller(conn: psycopg.AsyncConnection[Any]) -> None:
    """`clear_seller` for `psycopg_pool.AsyncConnectionPool(url, reset=aclear_seller)`."""
    cursor = vars(conn).pop(CURSOR, None)
    if cursor is not None:
        await cursor.close()
    autocommit = conn.autocommit
    await conn.set_autocommit(True)
    try:
        await conn.execute(_DISCARD.format(next(_resets)))
    finally:
        await conn.set_autocommit(autocommit)


def _forget_cursor(conn: psycopg.Connection[Any]) -> None:
    cursor = vars(conn).pop(CURSOR, None)
    if cursor is not None:
        cursor.close()  # no round trip; its last reference gone (sessions drop theirs), its rows go


def _restore(previous: str | None) -> sql.Composed:
    """The statement that puts back the seller a nested scope found (any text: quoted as a literal)."""
    return sql.SQL("SET LOCAL app.user_id = {}").format(sql.Literal(previous or ""))


def _current(runner: psycopg.Cursor[Any]) -> str | None:
    row = runner.execute(_CURRENT).fetchone()
    return None if row is None else row[0]


async def _acurrent(runner: psycopg.AsyncCursor[Any]) -> str | None:
    row = await (await runner.execute(_CURRENT)).fetchone()
    return None if row is None else row[0]
