"""SIGINT and SIGTERM during a migration run: acted on at safe points, the running statement cancelled.

The CLI sends both signals to `handler` while it works (`handled()`), even when SIGINT
came in ignored: a background job of a non-interactive shell starts so, Python then
installs no KeyboardInterrupt handler, and a `kill -INT` did nothing while a migration
slept (the lost cancel of issue 11).

Outside a run the handler raises at once, as Python's own does. During a run (`deferred()`,
entered with the migration lock) a signal is recorded instead, so it can never land
between a commit and the code that reports it, nor in a cleanup. It is acted on:
- at once in a sleep (`sleep()`: lock polling, retry backoff), by raising;
- at once in a statement (`cancellable()`): a thread sends the server a cancel request,
  again every CANCEL_RETRY_S (a request that arrives before the statement does is lost),
  while the statement runs; the statement ends with an error, and the section raises.
  If the server has not ended it after CANCEL_GIVE_UP_S, the wait itself is interrupted:
  psycopg then cancels once more and, that failing, closes the connection, which the
  server notices within client_connection_check_interval. A second signal does the same
  at once;
- at the next `check()` anywhere else: before each migration, statement, commit and lock poll.
A signal still pending when the run returns is the CLI's to report (`pending()`).

Only the main thread's sections count: Python runs signal handlers there, and tests run
the library in other threads.
"""

from __future__ import annotations

import contextlib
import signal
import threading
import time
from collections.abc import Iterator
from types import FrameType
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the CLI installs these handlers for every command: `lint` loads no database driver
    from socialdb.db import Conn


class Terminated(KeyboardInterrupt):
    """What SIGTERM raises while socialdb handles signals: a KeyboardInterrupt carrying its number."""

    def __init__(self, signal_number: int) -> None:
        self.signal_number = signal_number
        super().__init__(f"signal {signal_number}")


SIGNALS = (signal.SIGINT, signal.SIGTERM)
CANCEL_RETRY_S = 1.0
CANCEL_GIVE_UP_S = 10.0


class _Statement:
    """A statement running on `conn` in the main thread, which a signal cancels on the server."""

    def __init__(self, conn: Conn) -> None:
        self._conn = conn
        self._over = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def cancelling(self) -> bool:
        return self._thread is not None

    def cancel(self) -> None:
        """Start the cancelling thread (from the signal handler, in the main thread)."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._cancel_until_over, name="socialdb-cancel", daemon=True)
            self._thread.start()

    def finish(self) -> None:
        self._over.set()
        if self._thread is not None:
            # At most one cancel request is in flight; joined, so none reaches a later statement.
            self._thread.join(timeout=CANCEL_RETRY_S * 3)

    def _cancel_until_over(self) -> None:
        import psycopg  # loaded already: a statement is running

        deadline = time.monotonic() + CANCEL_GIVE_UP_S
        while not self._over.is_set():
            with contextlib.suppress(psycopg.Error):  # refused or timed out: the next round tries again
                self._conn.cancel_safe(timeout=CANCEL_RETRY_S)
            if self._over.wait(CANCEL_RETRY_S):
                return
            if time.monotonic() >= deadline:
                _state.escalate = self
                main = threading.main_thread().ident
                if main is not None:
                    signal.pthread_kill(main, _state.pending or signal.SIGINT)
                return


class _State:
    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.pending: int | None = None  # the first signal received, until the CLI is done with it
        self.deferring = 0  # depth of deferred() sections
        self.sleeping = False
        self.statement: _Statement | None = None
        self.escalate: _Statement | None = None  # a statement whose wait the next signal interrupts


_state = _State()


def interruption(signum: int) -> KeyboardInterrupt:
    """What a signal raises: KeyboardInterrupt for SIGINT, Terminated (one, with its number) otherwise."""
    return KeyboardInterrupt() if signum == signal.SIGINT else Terminated(signum)


def signal_number(exc: BaseException) -> int:
    return int(getattr(exc, "signal_number", signal.SIGINT))


def handler(signum: int, frame: FrameType | None) -> None:
    """The CLI's handler for SIGINT and SIGTERM."""
    first = _state.pending is None
    if first:
        _state.pending = signum
    reported = _state.pending or signum  # the first signal names the interruption and its exit code
    if not _state.deferring:
        raise interruption(reported)
    if _state.sleeping:
        _state.sleeping = False
        raise interruption(reported)
    statement = _state.statement
    if statement is None:
        return  # acted on at the next check()
    if _state.escalate is statement or (statement.cancelling and not first):
        _state.escalate = None
        _state.statement = None  # one raise per statement: a further signal must not break psycopg's cancel
        raise interruption(reported)
    statement.cancel()


@contextlib.contextmanager
def handled() -> Iterator[None]:
    """SIGINT and SIGTERM go to `handler` for the block, whatever their disposition was, even ignored."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    _state.reset()
    previous = {number: signal.signal(number, handler) for number in SIGNALS}
    try:
        yield
    finally:
        for number, old in previous.items():
            signal.signal(number, old if old is not None else signal.SIG_DFL)
        _state.reset()


def pending() -> int | None:
    """The signal received and not yet acted on (or acted on and not yet reported), if any."""
    return _state.pending


@contextlib.contextmanager
def deferred() -> Iterator[None]:
    """Record signals instead of raising them for the block, but in sleep() and cancellable()."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    _state.deferring += 1
    try:
        yield
    finally:
        _state.deferring -= 1


def check() -> None:
    """A safe point: raise the signal recorded while deferred, if any."""
    if _state.pending is not None and _state.deferring and threading.current_thread() is threading.main_thread():
        raise interruption(_state.pending)


def sleep(seconds: float) -> None:
    """time.sleep, which a signal ends by raising, during a run too."""
    if threading.current_thread() is not threading.main_thread():
        time.sleep(seconds)
        return
    try:
        _state.sleeping = True
        check()  # after the flag: a signal arrives either before the check or in the sleep
        time.sleep(seconds)
    finally:
        _state.sleeping = False


@contextlib.contextmanager
def cancellable(conn: Conn) -> Iterator[None]:
    """Run one statement on `conn` so that a signal cancels it on the server, then raises here."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    statement = _Statement(conn)
    try:
        _state.statement = statement
        check()  # after the assignment: a signal arrives either before the check or while it is set
        yield
    finally:
        _state.statement = None
        _state.escalate = None
        statement.finish()
        check()  # the statement's own error (cancelled, or any other) gives way to the signal
