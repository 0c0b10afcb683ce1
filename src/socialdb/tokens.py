"""OAuth access tokens, encrypted in the application with AES-256-GCM (never by the server).

Keys come from SOCIALDB_TOKEN_KEYS (`id:base64key,id:base64key`, the first is current)
or from the file named by SOCIALDB_TOKEN_KEYS_FILE (one `id:base64key` per line).
A stored token is `v1.<key id>.<base64url(nonce || ciphertext)>`; the associated data
binds it to its client account, so a ciphertext copied into another row fails to decrypt.
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

from socialdb.connection import connect
from socialdb.errors import SocialdbError

PREFIX = "v1"
_KEY_ID = re.compile(r"^[A-Za-z0-9_-]{1,32}$")
_NONCE_BYTES = 12


class TokenKeyError(SocialdbError):
    """The key configuration is missing or malformed."""


class TokenDecryptError(SocialdbError):
    """A stored token cannot be decrypted: tampered, wrong key, or another row's."""


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

    def encrypt(self, token: str, client_account_id: UUID | str) -> str:
        nonce = os.urandom(_NONCE_BYTES)
        sealed = AESGCM(self.keys[self.current]).encrypt(nonce, token.encode(), _aad(client_account_id))
        return self.current_prefix + base64.urlsafe_b64encode(nonce + sealed).decode()

    def decrypt(self, stored: str, client_account_id: UUID | str) -> str:
        key_id, blob = _split(stored)
        key = self.keys.get(key_id)
        if key is None:
            raise TokenDecryptError(f"token was encrypted with key {key_id!r}, which is not configured")
        try:
            plain = AESGCM(key).decrypt(blob[:_NONCE_BYTES], blob[_NONCE_BYTES:], _aad(client_account_id))
        except InvalidTag:
            raise TokenDecryptError(
                f"token under key {key_id!r} failed authentication: tampered, or not this account's"
            ) from None
        return plain.decode()

    @property
    def current_prefix(self) -> str:
        """How every token under the current key begins."""
        return f"{PREFIX}.{self.current}."


def key_id_of(stored: str) -> str:
    return _split(stored)[0]


def rotate(url: str, cipher: TokenCipher, batch_size: int = 500, report: Callable[[str], None] = print) -> int:
    """Re-encrypt every token not under the current key, in batches of short transactions.

    Safe to rerun and to run beside the application: rows are locked with SKIP LOCKED.
    Plaintext tokens (from before encryption) are encrypted too. Returns the rows changed.
    """
    done = 0
    prefix = cipher.current_prefix
    with connect(url, autocommit=True, purpose="tokens rotate") as conn:
        while True:
            with conn.transaction():
                rows = conn.execute(
                    "SELECT id, client_account_id, access_token FROM oauth_tokens"
                    " WHERE left(access_token, length(%s)) <> %s ORDER BY id LIMIT %s FOR UPDATE SKIP LOCKED",
                    (prefix, prefix, batch_size),
                ).fetchall()
                for row_id, account_id, stored in rows:
                    plain = cipher.decrypt(stored, account_id) if stored.startswith(f"{PREFIX}.") else stored
                    conn.execute(
                        "UPDATE oauth_tokens SET access_token = %s WHERE id = %s",
                        (cipher.encrypt(plain, account_id), row_id),
                    )
            if not rows:
                return done
            done += len(rows)
            report(f"re-encrypted {done} token(s) under key {cipher.current!r}")


def _aad(client_account_id: UUID | str) -> bytes:
    return b"socialdb:oauth_tokens.access_token:" + UUID(str(client_account_id)).bytes


def _split(stored: str) -> tuple[str, bytes]:
    version, _, rest = stored.partition(".")
    key_id, _, encoded = rest.partition(".")
    try:
        blob = base64.urlsafe_b64decode(encoded.encode())
    except (binascii.Error, ValueError):
        blob = b""
    if version != PREFIX or not key_id or len(blob) <= _NONCE_BYTES:
        raise TokenDecryptError("stored token is not a socialdb v1 ciphertext")
    return key_id, blob


def _decode_key(encoded: str, source: str, key_id: str) -> bytes:
    try:
        key = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        raise TokenKeyError(f"{source}: key {key_id!r} is not valid base64") from None
    if len(key) != 32:
        raise TokenKeyError(f"{source}: key {key_id!r} is {len(key)} bytes; AES-256 needs 32")
    return key
