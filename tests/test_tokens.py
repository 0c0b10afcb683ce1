"""OAuth tokens encrypted in the application: AES-256-GCM, key ids, binding to the row, rotation."""

from __future__ import annotations

import base64
import os
import subprocess
import uuid
from pathlib import Path

import psycopg
import pytest
from hypothesis import given
from hypothesis import strategies as st
from typer.testing import CliRunner

from socialdb.cli import app
from socialdb.embedded import psql_path
from socialdb.tokens import TokenCipher, TokenDecryptError, TokenKeyError, key_id_of, rotate

K1 = base64.b64encode(bytes(range(32))).decode()
K2 = base64.b64encode(bytes(range(32, 64))).decode()
ACCOUNT = uuid.UUID("11111111-1111-4111-8111-111111111111")
OTHER = uuid.UUID("22222222-2222-4222-8222-222222222222")


def cipher(spec: str) -> TokenCipher:
    return TokenCipher.from_env({"SOCIALDB_TOKEN_KEYS": spec})


@given(st.text(max_size=300))
def test_round_trip(token: str) -> None:
    c = cipher(f"k1:{K1}")
    stored = c.encrypt(token, ACCOUNT)
    assert stored.startswith("v1.k1.")
    assert c.decrypt(stored, ACCOUNT) == token


def test_nonces_differ() -> None:
    c = cipher(f"k1:{K1}")
    assert c.encrypt("same", ACCOUNT) != c.encrypt("same", ACCOUNT)


def test_tampered_ciphertext_is_refused() -> None:
    c = cipher(f"k1:{K1}")
    stored = c.encrypt("EAAG-secret", ACCOUNT)
    blob = bytearray(base64.urlsafe_b64decode(stored.split(".")[2]))
    blob[-1] ^= 1
    tampered = "v1.k1." + base64.urlsafe_b64encode(bytes(blob)).decode()
    with pytest.raises(TokenDecryptError, match="failed authentication"):
        c.decrypt(tampered, ACCOUNT)


def test_ciphertext_copied_to_another_account_fails() -> None:
    c = cipher(f"k1:{K1}")
    with pytest.raises(TokenDecryptError, match="not this account's"):
        c.decrypt(c.encrypt("EAAG-secret", ACCOUNT), OTHER)


def test_wrong_or_unknown_key() -> None:
    stored = cipher(f"k1:{K1}").encrypt("EAAG-secret", ACCOUNT)
    with pytest.raises(TokenDecryptError, match="failed authentication"):
        cipher(f"k1:{K2}").decrypt(stored, ACCOUNT)
    with pytest.raises(TokenDecryptError, match="key 'k1', which is not configured"):
        cipher(f"k2:{K2}").decrypt(stored, ACCOUNT)
    with pytest.raises(TokenDecryptError, match="not a socialdb v1 ciphertext"):
        cipher(f"k1:{K1}").decrypt("plain-token", ACCOUNT)


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({}, "no token keys: set SOCIALDB_TOKEN_KEYS"),
        ({"SOCIALDB_TOKEN_KEYS": "k1"}, "entry 1 is not 'id:base64key'"),
        ({"SOCIALDB_TOKEN_KEYS": "k1:not-base64!"}, "key 'k1' is not valid base64"),
        ({"SOCIALDB_TOKEN_KEYS": "k1:" + base64.b64encode(b"short").decode()}, "key 'k1' is 5 bytes; AES-256 needs 32"),
        ({"SOCIALDB_TOKEN_KEYS": f"k1:{K1},k1:{K2}"}, "key id 'k1' appears twice"),
        ({"SOCIALDB_TOKEN_KEYS_FILE": "/nonexistent/keys"}, "SOCIALDB_TOKEN_KEYS_FILE /nonexistent/keys: No such file"),
    ],
)
def test_bad_key_configuration_fails_at_startup(env: dict[str, str], message: str) -> None:
    with pytest.raises(TokenKeyError, match=message):
        TokenCipher.from_env(env)


def test_keys_from_a_file_and_never_in_repr(tmp_path: Path) -> None:
    path = tmp_path / "keys"
    path.write_text(f"# current first\nk2:{K2}\nk1:{K1}\n")
    c = TokenCipher.from_env({"SOCIALDB_TOKEN_KEYS_FILE": str(path)})
    assert (c.current, sorted(c.keys)) == ("k2", ["k1", "k2"])
    assert K1 not in repr(c) and K2 not in repr(c) and "\\x" not in repr(c)


def _insert_tokens(url: str, c: TokenCipher, count: int) -> dict[str, str]:
    """Accounts with tokens; returns client_account_id -> plaintext."""
    plain: dict[str, str] = {}
    with psycopg.connect(url, autocommit=True) as conn:
        user = conn.execute(
            "INSERT INTO users (email, password_hash, name) VALUES ('t@example.com', 'h', 'T') RETURNING id"
        ).fetchone()[0]  # type: ignore[index]
        for n in range(count):
            account = conn.execute(
                "INSERT INTO client_accounts (user_id, platform, platform_account_id, username)"
                " VALUES (%s, 'instagram', %s, 'u') RETURNING id",
                (user, f"ig-{n}"),
            ).fetchone()[0]  # type: ignore[index]
            token = f"EAAGsecret{n:04d}xyz"
            plain[str(account)] = token
            conn.execute(
                "INSERT INTO oauth_tokens (user_id, client_account_id, platform, access_token, expires_at, scopes)"
                " VALUES (%s, %s, 'instagram', %s, now() + interval '60 days', ARRAY['basic'])",
                (user, account, c.encrypt(token, account)),
            )
    return plain


def stored_tokens(url: str) -> dict[str, str]:
    with psycopg.connect(url) as conn:
        return {str(a): t for a, t in conn.execute("SELECT client_account_id, access_token FROM oauth_tokens")}


def test_a_dump_of_the_table_holds_no_plaintext(db_url: str) -> None:
    plain = _insert_tokens(db_url, cipher(f"k1:{K1}"), 5)
    pg_dump = str(Path(psql_path() or "").parent / "pg_dump")
    dump = subprocess.run(
        [pg_dump, "--data-only", "--table=oauth_tokens", db_url], capture_output=True, text=True, check=True
    ).stdout
    assert "v1.k1." in dump
    assert not any(token in dump for token in plain.values())


def test_rotation_moves_every_token_to_the_current_key_and_is_rerunnable(db_url: str) -> None:
    plain = _insert_tokens(db_url, cipher(f"k1:{K1}"), 7)
    with psycopg.connect(db_url, autocommit=True) as conn:  # a token from before encryption
        conn.execute(
            "UPDATE oauth_tokens SET access_token = 'legacy-plain' WHERE client_account_id = %s", (next(iter(plain)),)
        )
    plain[next(iter(plain))] = "legacy-plain"
    rotated = cipher(f"k2:{K2},k1:{K1}")
    lines: list[str] = []
    assert rotate(db_url, rotated, batch_size=3, report=lines.append) == 7
    assert len(lines) == 3  # batches of 3, 3, 1
    tokens = stored_tokens(db_url)
    assert {key_id_of(t) for t in tokens.values()} == {"k2"}
    assert {a: rotated.decrypt(t, a) for a, t in tokens.items()} == plain
    assert rotate(db_url, rotated, report=lines.append) == 0  # nothing left to do
    with pytest.raises(TokenDecryptError):  # the old key alone no longer reads anything
        cipher(f"k1:{K1}").decrypt(next(iter(tokens.values())), next(iter(tokens)))


def test_rotate_command(db_url: str) -> None:
    _insert_tokens(db_url, cipher(f"k1:{K1}"), 2)
    env = {"SOCIALDB_TOKEN_KEYS": f"k2:{K2},k1:{K1}", "DATABASE_URL": ""}
    result = CliRunner().invoke(app, ["tokens", "rotate", "--database-url", db_url], env=env)
    assert result.exit_code == 0
    assert result.stdout.strip().splitlines()[-1] == "2 token(s) re-encrypted; every token is under key 'k2'"
    assert K1 not in result.output and K2 not in result.output
    missing = CliRunner().invoke(app, ["tokens", "rotate", "--database-url", db_url], env={"SOCIALDB_TOKEN_KEYS": ""})
    assert missing.exit_code == 1 and missing.stderr.startswith("error: no token keys")


def test_key_material_is_random_enough_for_tests() -> None:
    assert len(set(os.urandom(12) for _ in range(100))) == 100
