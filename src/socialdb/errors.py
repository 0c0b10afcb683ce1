"""The package's exceptions: one root, one subclass per failure a user can act on.

Every message is one line, names the file, line or value at fault, and never
contains a password (URLs are masked before they reach an exception).
"""

from __future__ import annotations


class SocialdbError(Exception):
    """Root of every error socialdb raises on purpose.

    `exit_code` is what the CLI exits with: 1 for a failure, 2 for a usage error; the CLI
    reads it and nothing else.
    """

    exit_code: int = 1


class MigrationFileError(SocialdbError):
    """A migration file (or folder) that cannot be parsed: name, encoding, directive."""

    def __init__(self, path: str, message: str, line: int | None = None) -> None:
        self.path = path
        self.line = line
        self.reason = message
        where = f"{path}:{line}" if line is not None else path
        super().__init__(f"{where}: {message}")


class HistoryError(SocialdbError):
    """The history table disagrees with the files on disk."""


class ChecksumMismatchError(HistoryError):
    """An applied migration's file changed after it was applied."""


class MissingMigrationError(HistoryError):
    """An applied migration's file is no longer on disk."""


class FailedMigrationError(HistoryError):
    """A non-transactional migration failed midway and waits for `migrate resolve`."""


class OutOfOrderError(HistoryError):
    """A pending migration is older than the newest applied one; give it a new version."""


class NoRollbackError(SocialdbError):
    """`down` was asked for a migration that has no `-- ROLLBACK` section."""


class MigrationFailed(SocialdbError):
    """PostgreSQL rejected a statement of a migration; nothing of it was kept."""

    def __init__(
        self,
        path: str,
        line: int | None,
        message: str,
        sqlstate: str | None = None,
        applied_partially: bool = False,
    ) -> None:
        self.path = path
        self.line = line
        self.pg_message = message
        self.sqlstate = sqlstate
        self.applied_partially = applied_partially
        where = f"{path}:{line}" if line is not None else path
        super().__init__(f"{where}: {message}")


class PrivilegeError(SocialdbError):
    """The migrating role lacks a privilege the pending migrations need (docs/deploying.md)."""


class FieldLimitError(SocialdbError):
    """A field from a platform over its bound (migration 041): refused before anything is stored."""


class NoSellerError(SocialdbError):
    """A call that acts for the current seller, made outside a seller scope: refused, not answered empty."""


class AccountTakenError(SocialdbError):
    """A platform account another seller has connected: an account has one live seller."""


class SellerScopeError(SocialdbError):
    """A seller scope asked on a connection that another thread or task holds in a scope of its own."""


class LockNotAvailableError(SocialdbError):
    """A migration could not get a table lock within its lock_timeout, after every retry."""


class RunnerLockTimeout(SocialdbError):
    """Another runner held the migration lock longer than --lock-wait."""


class Interrupted(SocialdbError):
    """SIGINT or SIGTERM arrived; the current migration was rolled back. Exit 128 + the signal."""

    def __init__(self, message: str, signal_number: int) -> None:
        self.signal_number = signal_number
        self.exit_code = 128 + signal_number
        super().__init__(message)


class DurabilityError(SocialdbError):
    """The run's migrations committed, but the wait for their flush (or replication) failed."""


class DatabaseUrlError(SocialdbError):
    """A database URL that cannot be parsed (its password is masked in the message)."""

    exit_code = 2


class ConnectError(SocialdbError):
    """The database server could not be reached or refused the connection."""


class EmbeddedServerError(SocialdbError):
    """The embedded PostgreSQL could not be started or stopped."""


class SeedRefusedError(SocialdbError):
    """Seed data must never be loaded into production."""


class UsageError(SocialdbError):
    """A request that makes no sense (bad version, bad duration, bad mode)."""

    exit_code = 2


class LintError(SocialdbError):
    """Squawk is missing, or the waiver file is malformed."""


class TokenKeyError(SocialdbError):
    """The token key configuration is missing or malformed."""


class TokenDecryptError(SocialdbError):
    """A stored token cannot be decrypted: tampered, wrong key, or another row's."""


class TokenRotationError(SocialdbError):
    """`tokens rotate` cannot run as asked, or left tokens that are not under the current key."""


class GraphvizError(SocialdbError):
    """Graphviz's `dot`, which draws docs/schema/schema.svg, is missing or failed."""


class ScratchDatabaseError(SocialdbError):
    """A scratch database (for the schema docs or a drift check) could not be created or migrated."""


class DriftCheckError(SocialdbError):
    """A database cannot be compared with the migrations: no history, an unknown version, another server version."""


class PartitionUpkeepError(SocialdbError):
    """`socialdb maintain` cannot run: analytics_events is not partitioned (migrations 031-034 not applied)."""


class ConfigError(SocialdbError):
    """A setting of socialdb.toml, [tool.socialdb], a SOCIALDB_* variable or a flag that makes no sense."""

    exit_code = 2


class BaselineError(SocialdbError):
    """`migrate baseline` refused: the database differs from the migrations, or already has a history."""


class RepairError(SocialdbError):
    """`migrate repair` refused: a changed up part without its flag, or nothing it may repair."""


class TraceError(SocialdbError):
    """`migrate plan --trace`: a pending statement failed on the scratch copy (nothing changed on the target)."""


class CitusError(SocialdbError):
    """`socialdb citus distribute` refused: no Citus, no schema, or a table Citus cannot distribute as planned."""
