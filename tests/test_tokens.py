"""OAuth tokens encrypted in the application: AES-256-GCM, key ids, binding to the row, rotation."""

from __future__ import annotations

import base64
import os
import subprocess
import uuid
from pathlib import Path

import psycopg
import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from hypothesis import given
from hypothesis import strategies as st
from typer.testing import CliRunner

from socialdb.app.tokens import TokenCipher, TokenDecryptError, TokenKeyError, TokenRotationError, rotate
from socialdb.cli import app
from socialdb.embedded import psql_path
from tests.helpers import login_role

K1 = base64.b64encode(bytes(range(32))).decode()
K2 = base64.b64encode(bytes(range(32, 64))).decode()
ACCOUNT = uuid.UUID("11111111-1111-4111-8111-111111111111")
OTHER = uuid.UUID("22222222-2222-4222-8222-222222222222")
ROW = uuid.UUID("33333333-3333-4333-8333-333333333333")
OTHER_ROW = uuid.UUID("44444444-4444-4444-8444-444444444444")


def cipher(spec: str) -> TokenCipher:
    return TokenCipher.from_env({"SOCIALDB_TOKEN_KEYS": spec})


@given(st.text(max_size=300))
def test_round_trip(token: str) -> None:
    c = cipher(f"k1:{K1}")
    stored = c.encrypt(token, ACCOUNT, ROW)
    assert stored.startswith("v2.k1.")
    assert c.decrypt(stored, ACCOUNT, ROW) == token


def test_nonces_differ() -> None:
    c = cipher(f"k1:{K1}")
    assert c.encrypt("same", ACCOUNT, ROW) != c.encrypt("same", ACCOUNT, ROW)


def test_tampered_ciphertext_is_refused() -> None:
    c = cipher(f"k1:{K1}")
    stored = c.encrypt("EAAG-secret", ACCOUNT, ROW)
    blob = bytearray(base64.urlsafe_b64decode(stored.split(".")[2]))
    blob[-1] ^= 1
    tampered = "v2.k1." + base64.urlsafe_b64encode(bytes(blob)).decode()
    with pytest.raises(TokenDecryptError, match="failed authentication"):
        c.decrypt(tampered, ACCOUNT, ROW)


def test_ciphertext_copied_to_another_account_fails() -> None:
    c = cipher(f"k1:{K1}")
    with pytest.raises(TokenDecryptError, match="not this row's"):
        c.decrypt(c.encrypt("EAAG-secret", ACCOUNT, ROW), OTHER, ROW)


def test_ciphertext_moved_to_another_row_of_the_same_account_fails() -> None:
    c = cipher(f"k1:{K1}")
    revoked = c.encrypt("EAAG-revoked", ACCOUNT, ROW)
    with pytest.raises(TokenDecryptError, match="not this row's"):
        c.decrypt(revoked, ACCOUNT, OTHER_ROW)


def test_key_id_is_bound_too() -> None:
    """Relabelling a ciphertext with another configured key id does not make it readable."""
    c = cipher(f"k1:{K1},k2:{K1}")  # the same key material under two ids
    stored = c.encrypt("EAAG-secret", ACCOUNT, ROW)
    with pytest.raises(TokenDecryptError, match="failed authentication"):
        c.decrypt(stored.replace("v2.k1.", "v2.k2.", 1), ACCOUNT, ROW)


def v1_value(key: str, key_id: str, token: str, account: uuid.UUID) -> str:
    """A value in the first format (bound to the account only), as socialdb wrote it before."""
    nonce = os.urandom(12)
    aad = b"socialdb:oauth_tokens.access_token:" + account.bytes
    sealed = AESGCM(base64.b64decode(key)).encrypt(nonce, token.encode(), aad)
    return f"v1.{key_id}." + base64.urlsafe_b64encode(nonce + sealed).decode()


def test_v1_values_stay_readable() -> None:
    assert cipher(f"k1:{K1}").decrypt(v1_value(K1, "k1", "EAAG-old", ACCOUNT), ACCOUNT, ROW) == "EAAG-old"


def test_wrong_or_unknown_key() -> None:
    stored = cipher(f"k1:{K1}").encrypt("EAAG-secret", ACCOUNT, ROW)
    with pytest.raises(TokenDecryptError, match="failed authentication"):
        cipher(f"k1:{K2}").decrypt(stored, ACCOUNT, ROW)
    with pytest.raises(TokenDecryptError, match="key 'k1', which is not configured"):
        cipher(f"k2:{K2}").decrypt(stored, ACCOUNT, ROW)
    with pytest.raises(TokenDecryptError, match="not a socialdb ciphertext"):
        cipher(f"k1:{K1}").decrypt("plain-token", ACCOUNT, ROW)


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
    """Accounts with one token each, encrypted for their row; returns token id -> plaintext."""
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
            token_id, token = uuid.uuid4(), f"EAAGsecret{n:04d}xyz"
            plain[str(token_id)] = token
            conn.execute(
                "INSERT INTO oauth_tokens (id, user_id, client_account_id, platform, access_token, expires_at, scopes)"
                " VALUES (%s, %s, %s, 'instagram', %s, now() + interval '60 days', ARRAY['basic'])",
                (token_id, user, account, c.encrypt(token, account, token_id)),
            )
    return plain


def stored_tokens(url: str) -> dict[str, tuple[str, str]]:
    """token id -> (client account id, stored value)."""
    with psycopg.connect(url) as conn:
        rows = conn.execute("SELECT id, client_account_id, access_token FROM oauth_tokens").fetchall()
    return {str(i): (str(a), t) for i, a, t in rows}


def decrypted(url: str, c: TokenCipher) -> dict[str, str]:
    return {i: c.decrypt(t, a, i) for i, (a, t) in stored_tokens(url).items()}


def set_value(url: str, token_id: str, value: str) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("UPDATE oauth_tokens SET access_token = %s WHERE id = %s", (value, token_id))


def test_a_dump_of_the_table_holds_no_plaintext(db_url: str) -> None:
    plain = _insert_tokens(db_url, cipher(f"k1:{K1}"), 5)
    pg_dump = str(Path(psql_path() or "").parent / "pg_dump")
    dump = subprocess.run(
        [pg_dump, "--data-only", "--table=oauth_tokens", db_url], capture_output=True, text=True, check=True, timeout=60
    ).stdout
    assert "v2.k1." in dump
    assert not any(token in dump for token in plain.values())


def test_rotation_moves_every_token_to_the_current_key_and_is_rerunnable(db_url: str) -> None:
    plain = _insert_tokens(db_url, cipher(f"k1:{K1}"), 7)
    legacy, old_format = list(plain)[:2]
    set_value(db_url, legacy, "legacy-plain")  # a token from before encryption
    plain[legacy] = "legacy-plain"
    account = stored_tokens(db_url)[old_format][0]
    set_value(db_url, old_format, v1_value(K1, "k1", plain[old_format], uuid.UUID(account)))  # the first format
    rotated = cipher(f"k2:{K2},k1:{K1}")
    lines: list[str] = []
    result = rotate(db_url, rotated, batch_size=3, report=lines.append, encrypt_plaintext=True)
    assert (result.reencrypted, result.unreadable, result.remaining) == (7, (), 0)
    assert len(lines) == 3  # batches of 3, 3, 1
    assert {t[:6] for _, t in stored_tokens(db_url).values()} == {"v2.k2."}
    assert decrypted(db_url, rotated) == plain
    assert rotate(db_url, rotated, report=lines.append).reencrypted == 0  # nothing left to do
    with pytest.raises(TokenDecryptError):  # the old key alone no longer reads anything
        decrypted(db_url, cipher(f"k1:{K1}"))


def test_rotation_upgrades_v1_values_under_the_current_key(db_url: str) -> None:
    plain = _insert_tokens(db_url, cipher(f"k1:{K1}"), 2)
    for token_id, (account, _) in stored_tokens(db_url).items():
        set_value(db_url, token_id, v1_value(K1, "k1", plain[token_id], uuid.UUID(account)))
    assert rotate(db_url, cipher(f"k1:{K1}"), report=lambda _: None).reencrypted == 2
    assert {t[:6] for _, t in stored_tokens(db_url).values()} == {"v2.k1."}
    assert decrypted(db_url, cipher(f"k1:{K1}")) == plain


def test_a_row_under_a_lost_key_is_reported_skipped_and_the_rest_finished(db_url: str) -> None:
    plain = _insert_tokens(db_url, cipher(f"k1:{K1}"), 5)
    lost = sorted(plain)[0]  # the first row of the first batch: before, every batch failed on it
    k0 = base64.b64encode(bytes(range(64, 96))).decode()
    account = stored_tokens(db_url)[lost][0]
    set_value(db_url, lost, cipher(f"k0:{k0}").encrypt("EAAG-lost", account, lost))
    with pytest.raises(TokenRotationError) as caught:
        rotate(db_url, cipher(f"k2:{K2},k1:{K1}"), batch_size=2, report=lambda _: None)
    message = str(caught.value)
    assert message.startswith("1 token(s) are not under key 'k2' after re-encrypting 4")
    assert f"{lost} (key 'k0')" in message and "EAAG" not in message
    tokens = stored_tokens(db_url)
    assert {i for i, (_, t) in tokens.items() if not t.startswith("v2.k2.")} == {lost}


def test_a_value_planted_without_the_key_is_never_made_genuine(db_url: str) -> None:
    """Whoever can write the table but holds no key must not get rotate to encrypt their token."""
    plain = _insert_tokens(db_url, cipher(f"k1:{K1}"), 2)
    planted = sorted(plain)[0]
    set_value(db_url, planted, "ATTACKER-CHOSEN-TOKEN")
    with pytest.raises(TokenRotationError, match=rf"unreadable, skipped: {planted} \(key 'none'\)"):
        rotate(db_url, cipher(f"k2:{K2},k1:{K1}"), report=lambda _: None)
    assert stored_tokens(db_url)[planted][1] == "ATTACKER-CHOSEN-TOKEN"


def test_rows_locked_by_another_transaction_are_not_reported_as_done(db_url: str) -> None:
    plain = _insert_tokens(db_url, cipher(f"k1:{K1}"), 3)
    busy = sorted(plain)[1]
    with psycopg.connect(db_url) as holder:
        holder.execute("SELECT 1 FROM oauth_tokens WHERE id = %s FOR UPDATE", (busy,))
        with pytest.raises(
            TokenRotationError, match=r"^1 token\(s\) are not under key 'k2' after re-encrypting 2.*locked"
        ):
            rotate(db_url, cipher(f"k2:{K2},k1:{K1}"), report=lambda _: None)
        holder.rollback()
    assert rotate(db_url, cipher(f"k2:{K2},k1:{K1}"), report=lambda _: None).reencrypted == 1  # the rerun finishes


def test_rotation_refuses_a_role_under_row_level_security(db_url: str) -> None:
    _insert_tokens(db_url, cipher(f"k1:{K1}"), 2)
    before = stored_tokens(db_url)
    with (
        login_role(db_url, "socialdb_app") as (role, url),  # what the application logs in as
        pytest.raises(TokenRotationError, match=f"role {role} sees only its seller's tokens"),
    ):
        rotate(url, cipher(f"k2:{K2},k1:{K1}"), report=lambda _: None)
    assert stored_tokens(db_url) == before


def test_rotate_command(db_url: str) -> None:
    plain = _insert_tokens(db_url, cipher(f"k1:{K1}"), 2)
    env = {"SOCIALDB_TOKEN_KEYS": f"k2:{K2},k1:{K1}", "DATABASE_URL": ""}
    result = CliRunner().invoke(app, ["tokens", "rotate", "--database-url", db_url], env=env)
    assert result.exit_code == 0
    assert result.stdout.strip().splitlines()[-1] == "2 token(s) re-encrypted; every token is under key 'k2'"
    assert K1 not in result.output and K2 not in result.output
    set_value(db_url, sorted(plain)[0], "v2.gone." + base64.urlsafe_b64encode(os.urandom(40)).decode())
    failed = CliRunner().invoke(app, ["tokens", "rotate", "--database-url", db_url], env=env)
    assert failed.exit_code == 1
    assert failed.stderr.strip().splitlines() == [
        f"error: 1 token(s) are not under key 'k2' after re-encrypting 0; unreadable, skipped: {sorted(plain)[0]} (key 'gone')"
    ]
    missing = CliRunner().invoke(app, ["tokens", "rotate", "--database-url", db_url], env={"SOCIALDB_TOKEN_KEYS": ""})
    assert missing.exit_code == 1 and missing.stderr.startswith("error: no token keys")


@pytest.mark.parametrize("size", [16, 24, 31, 33])
def test_only_256_bit_keys_are_accepted(size: int) -> None:
    """AESGCM itself takes 16- and 24-byte keys (`openssl rand -base64 16` is an easy slip): socialdb must not."""
    key = base64.b64encode(bytes(range(size))).decode()
    with pytest.raises(TokenKeyError, match=f"key 'k1' is {size} bytes; AES-256 needs 32"):
        cipher(f"k1:{key}")


def test_a_seller_reusing_another_sellers_token_id_gets_neither_token_by_rotation(db_url: str) -> None:
    """Since 052 an id is unique per seller only: seller A, as the application under row-level
    security, can store an account and a token with seller B's ids. The rotation (as the owner,
    which sees both) once wrote by id alone, one seller's token into the other's row."""
    old, new = cipher(f"k1:{K1}"), cipher(f"k2:{K2},k1:{K1}")
    seller_a, seller_b, account, token = uuid.uuid4(), uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    insert_token = (
        "INSERT INTO oauth_tokens (id, user_id, client_account_id, platform, access_token, expires_at, scopes)"
        " VALUES (%s, app_user_id(), %s, 'instagram', %s, now() + interval '1 day', '{}')"
    )
    with psycopg.connect(db_url, autocommit=True) as admin:
        for seller in (seller_a, seller_b):
            admin.execute(
                "INSERT INTO users (id, email, password_hash, name) VALUES (%s, %s, 'h', 'S')", (seller, f"{seller}@x")
            )
    with login_role(db_url, "socialdb_app") as (_, url), psycopg.connect(url) as app:
        for seller, secret in ((seller_b, "B-SECRET"), (seller_a, "A-own")):  # A copies B's ids
            with app.transaction():
                app.execute("SELECT set_config('app.user_id', %s, true)", (str(seller),))
                app.execute(
                    "INSERT INTO client_accounts (id, platform, platform_account_id, username)"
                    " VALUES (%s, 'instagram', %s, 'x')",
                    (account, f"acct-{secret}"),
                )
                app.execute(insert_token, (token, account, old.encrypt(secret, account, token)))
    rotate(db_url, new, report=lambda _: None)
    with psycopg.connect(db_url) as admin:
        rows = admin.execute("SELECT user_id, access_token FROM oauth_tokens WHERE id = %s", (token,)).fetchall()
    found = {user: new.decrypt(stored, account, token) for user, stored in rows}
    assert found == {seller_a: "A-own", seller_b: "B-SECRET"}
