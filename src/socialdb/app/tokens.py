"""OAuth access tokens, encrypted in the application with AES-256-GCM (never by the server).

Keys come from SOCIALDB_TOKEN_KEYS (`id:base64key,id:base64key`, the first is current)
or from the file named by SOCIALDB_TOKEN_KEYS_FILE (one `id:base64key` per line).
A stored token is `v2.<key id>.<base64url(nonce || ciphertext)>`; the associated data
binds it to its own row (the token's id), its client account and the key id, so a
ciphertext copied into another row, even of the same account, fails to decrypt. The
application chooses a token's id (uuid4) before inserting it. `v1` values (bound to the
account only) stay readable, and `socialdb tokens rotate` rewrites them as `v2`.
"""

from __future__ import annotations

import base64
import binascii
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from uuid import UUID

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from psycopg import Connection
from psycopg.rows import TupleRow

from socialdb.db import connect
from socialdb.errors import TokenDecryptError, TokenKeyError, TokenRotationError

PREFIX = "v2"
_LEGACY = "v1"  # bound to the client account only: read, never written
_KEY_ID = re.compile(r"^[A-Za-z0-9_-]{1,32}$")
_NONCE_BYTES = 12


@dataclass(frozen=True)
class Unreadable:
    """A token rotation skipped: its id and key id, never its value."""

    token_id: UUID
    key_id: str
    reason: str


@dataclass(frozen=True)
class Rotation:
    reencrypted: int
    unreadable: tuple[Unreadable, ...]
    remaining: int  # rows not under the current key after the run: unreadable or locked


@dataclass(frozen=True)
class TokenCipher:
    keys: Mapping[str, bytes] = field(repr=False)  # never in a log line or traceback
    current: str = ""

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> TokenCipher:
        """Load the keys at startup; a missing or bad key fails here, not mid-request."""
        env = os.environ if environ is None else environ
        if env.get("SOCIALDB_TOKEN_KEYS"):
            return cls.parse(env["SOCIALDB_TOKEN_KEYS"].replace(",", "\n"), "SOCIALDB_TOKEN_KEYS")
        if env.get("SOCIALDB_TOKEN_KEYS_FILE"):
            path = Path(env["SOCIALDB_TOKEN_KEYS_FILE"])
            try:
                text = path.read_text(encoding="utf-8")
            except OSError as exc:
                raise TokenKeyError(f"SOCIALDB_TOKEN_KEYS_FILE {path}: {exc.strerror}") from None
            return cls.parse(text, str(path))
        raise TokenKeyError(
            "no token keys: set SOCIALDB_TOKEN_KEYS to 'id:base64key' (32-byte keys, the first is current)"
            " or SOCIALDB_TOKEN_KEYS_FILE to a file of such lines"
        )

    @classmethod
    def parse(cls, text: str, source: str) -> TokenCipher:
        keys: dict[str, bytes] = {}
        for number, line in enumerate(text.splitlines(), start=1):
            entry = line.strip()
            if not entry or entry.startswith("#"):
                continue
            key_id, sep, encoded = entry.partition(":")
            if not sep or not _KEY_ID.match(key_id):
                raise TokenKeyError(f"{source}: entry {number} is not 'id:base64key' with a short [A-Za-z0-9_-] id")
            if key_id in keys:
                raise TokenKeyError(f"{source}: key id {key_id!r} appears twice")
            keys[key_id] = _decode_key(encoded.strip(), source, key_id)
        if not keys:
            raise TokenKeyError(f"{source}: no keys")
        return cls(keys, next(iter(keys)))

    def encrypt(self, token: str, client_account_id: UUID | str, token_id: UUID | str) -> str:
        """The value to store in the oauth_tokens row `token_id` of that client account."""
        nonce = os.urandom(_NONCE_BYTES)
        aad = _aad_v2(self.current, client_account_id, token_id)
        sealed = AESGCM(self.keys[self.current]).encrypt(nonce, token.encode(), aad)
        return self.current_prefix + base64.urlsafe_b64encode(nonce + sealed).decode()

    def decrypt(self, stored: str, client_account_id: UUID | str, token_id: UUID | str) -> str:
        version, key_id, blob = _split(stored)
        key = self.keys.get(key_id)
        if key is None:
            raise TokenDecryptError(f"token was encrypted with key {key_id!r}, which is not configured")
        aad = _aad_v1(client_account_id) if version == _LEGACY else _aad_v2(key_id, client_account_id, token_id)
        try:
            plain = AESGCM(key).decrypt(blob[:_NONCE_BYTES], blob[_NONCE_BYTES:], aad)
        except InvalidTag:
            raise TokenDecryptError(
                f"token under key {key_id!r} failed authentication: tampered, or not this row's"
            ) from None
        return plain.decode()

    @property
    def current_prefix(self) -> str:
        """How every token under the current key begins."""
        return f"{PREFIX}.{self.current}."


def key_id_of(stored: str) -> str:
    return _split(stored)[1]


def is_ciphertext(stored: str) -> bool:
    """True for a socialdb value (any version), False for a token stored before encryption."""
    return stored.startswith((f"{PREFIX}.", f"{_LEGACY}."))


# Under row-level security a role sees only its seller's tokens: rotating as it would leave
# every other token behind and call it done.
_SEES_EVERY_ROW = """
SELECT current_user, NOT row_security_active('public.oauth_tokens')
       OR pg_has_role(current_user, 'socialdb_owner', 'USAGE')
"""
# A token is (id, user_id) since 052: an id alone may be two sellers' rows, so the batches walk
# and write by both (an UPDATE by id alone once wrote one seller's token into another's row).
_BATCH = """
SELECT id, user_id, client_account_id, access_token FROM public.oauth_tokens
WHERE left(access_token, length(%(prefix)s)) <> %(prefix)s AND (id, user_id) > (%(after_id)s, %(after_user)s)
ORDER BY id, user_id LIMIT %(limit)s FOR UPDATE SKIP LOCKED
"""
# On Citus: the same batch within one seller (one shard, where FOR UPDATE is allowed), and the
# sellers that have tokens to rotate. A single server runs _BATCH as before.
_SELLER_BATCH = """
SELECT id, user_id, client_account_id, access_token FROM public.oauth_tokens
WHERE user_id = %(seller)s AND left(access_token, length(%(prefix)s)) <> %(prefix)s
  AND (id, user_id) > (%(after_id)s, %(after_user)s)
ORDER BY id, user_id LIMIT %(limit)s FOR UPDATE SKIP LOCKED
"""
_SELLERS = (
    "SELECT DISTINCT user_id FROM public.oauth_tokens"
    " WHERE left(access_token, length(%(prefix)s)) <> %(prefix)s ORDER BY 1"
)
_ON_CITUS = "SELECT current_setting('citus.shard_count', true) IS NOT NULL"
_WRITE = "UPDATE public.oauth_tokens SET access_token = %s WHERE id = %s AND user_id = %s"
_REMAINING = "SELECT count(*) FROM public.oauth_tokens WHERE left(access_token, length(%(prefix)s)) <> %(prefix)s"
_NO_ID = UUID(int=0)


def rotate(
    url: str,
    cipher: TokenCipher,
    batch_size: int = 500,
    report: Callable[[str], None] = print,
    *,
    encrypt_plaintext: bool = False,
) -> Rotation:
    """Re-encrypt every token not under the current key (v2), in batches of short transactions.

    Safe to rerun and to run beside the application: rows are locked with SKIP LOCKED, and a
    row that cannot be decrypted is reported and skipped. A value that is not a ciphertext
    is skipped as unreadable too: whoever can write the table without the key could plant
    it. Only `encrypt_plaintext` (once, for tokens stored before encryption) encrypts such
    values. Raises TokenRotationError when any row is left behind.

    On Citus the batches go one seller at a time (their statements name it): Citus refuses
    FOR UPDATE on a query over several shards (decision 244).
    """
    with connect(url, autocommit=True, purpose="tokens rotate") as conn:
        _refuse_partial_view(conn)
        pages = _Pages(conn, cipher, batch_size, report, encrypt_plaintext)
        if conn.execute(_ON_CITUS).fetchone() == (True,):
            for (seller,) in conn.execute(_SELLERS, {"prefix": cipher.current_prefix}).fetchall():
                pages.walk(seller)
        else:
            pages.walk(None)
        row = conn.execute(_REMAINING, {"prefix": cipher.current_prefix}).fetchone()
    result = Rotation(pages.done, tuple(pages.unreadable), int(row[0]) if row else 0)
    if result.remaining:
        raise TokenRotationError(_incomplete(result, cipher.current))
    return result


@dataclass
class _Pages:
    """The batches of one run: each its own transaction, walking (id, user_id) upwards."""

    conn: Connection[TupleRow]
    cipher: TokenCipher
    batch_size: int
    report: Callable[[str], None]
    encrypt_plaintext: bool
    done: int = 0
    unreadable: list[Unreadable] = field(default_factory=list)

    def walk(self, seller: UUID | None) -> None:
        """Every token not under the current key: all sellers' (None), or one seller's."""
        after = (_NO_ID, _NO_ID)
        while True:
            with self.conn.transaction():
                page = {"prefix": self.cipher.current_prefix, "after_id": after[0], "after_user": after[1]}
                if seller is None:
                    batch = self.conn.execute(_BATCH, {**page, "limit": self.batch_size}).fetchall()
                else:
                    batch = self.conn.execute(
                        _SELLER_BATCH, {**page, "limit": self.batch_size, "seller": seller}
                    ).fetchall()
                for token_id, user_id, account_id, stored in batch:
                    failure = _reencrypt(
                        self.conn, self.cipher, (token_id, user_id, account_id, stored), self.encrypt_plaintext
                    )
                    if failure is None:
                        self.done += 1
                    else:
                        self.unreadable.append(failure)
            if not batch:
                return
            after = (batch[-1][0], batch[-1][1])
            self.report(f"re-encrypted {self.done} token(s) under key {self.cipher.current!r}")


def _refuse_partial_view(conn: Connection[TupleRow]) -> None:
    row = conn.execute(_SEES_EVERY_ROW).fetchone()
    if row is None or not row[1]:
        role = row[0] if row else "this role"
        raise TokenRotationError(
            f"tokens rotate: role {role} sees only its seller's tokens (row-level security on oauth_tokens);"
            " run it as socialdb_owner or a member of it"
        )


def _reencrypt(
    conn: Connection[TupleRow], cipher: TokenCipher, row: tuple[UUID, UUID, UUID, str], encrypt_plaintext: bool
) -> Unreadable | None:
    token_id, user_id, account_id, stored = row
    if not is_ciphertext(stored) and not encrypt_plaintext:
        return Unreadable(
            token_id, "none", "not a ciphertext (--encrypt-plaintext only for tokens from before encryption)"
        )
    try:
        plain = cipher.decrypt(stored, account_id, token_id) if is_ciphertext(stored) else stored
    except TokenDecryptError as exc:
        key_id = stored.split(".")[1] if stored.count(".") >= 2 else "?"
        return Unreadable(token_id, key_id, str(exc))
    conn.execute(_WRITE, (cipher.encrypt(plain, account_id, token_id), token_id, user_id))
    return None


def _incomplete(result: Rotation, current: str) -> str:
    skipped = "; ".join(f"{u.token_id} (key {u.key_id!r})" for u in result.unreadable[:10])
    more = f" and {len(result.unreadable) - 10} more" if len(result.unreadable) > 10 else ""
    unreadable = f"; unreadable, skipped: {skipped}{more}" if result.unreadable else ""
    locked = result.remaining - len(result.unreadable)
    busy = f"; {locked} changed or locked by another transaction meanwhile: rerun" if locked > 0 else ""
    return (
        f"{result.remaining} token(s) are not under key {current!r} after re-encrypting {result.reencrypted}"
        f"{unreadable}{busy}"
    )


def _aad_v1(client_account_id: UUID | str) -> bytes:
    return b"socialdb:oauth_tokens.access_token:" + UUID(str(client_account_id)).bytes


def _aad_v2(key_id: str, client_account_id: UUID | str, token_id: UUID | str) -> bytes:
    account, row = UUID(str(client_account_id)).bytes, UUID(str(token_id)).bytes
    return b"socialdb:oauth_tokens.access_token:v2:" + key_id.encode() + b":" + account + row


def _split(stored: str) -> tuple[str, str, bytes]:
    version, _, rest = stored.partition(".")
    key_id, _, encoded = rest.partition(".")
    try:
        blob = base64.urlsafe_b64decode(encoded.encode())
    except (binascii.Error, ValueError):
        blob = b""
    if version not in (PREFIX, _LEGACY) or not key_id or len(blob) <= _NONCE_BYTES:
        raise TokenDecryptError("stored token is not a socialdb ciphertext (v1 or v2)")
    return version, key_id, blob


def _decode_key(encoded: str, source: str, key_id: str) -> bytes:
    try:
        key = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        raise TokenKeyError(f"{source}: key {key_id!r} is not valid base64") from None
    if len(key) != 32:
        raise TokenKeyError(f"{source}: key {key_id!r} is {len(key)} bytes; AES-256 needs 32")
    return key
