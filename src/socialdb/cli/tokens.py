"""`socialdb tokens ...`: the encrypted OAuth tokens."""

from __future__ import annotations

from typing import Annotated

import typer

from socialdb.app import tokens
from socialdb.cli.common import DatabaseUrl, Debug, call, group, say, target_url

tokens_app = group("tokens")


@tokens_app.command("rotate")
def tokens_rotate(
    batch_size: Annotated[int, typer.Option("--batch-size", min=1, help="Rows per transaction.")] = 500,
    encrypt_plaintext: Annotated[
        bool,
        typer.Option(
            "--encrypt-plaintext", help="Also encrypt values that are not ciphertexts (once, after the first deploy)."
        ),
    ] = False,
    database_url: DatabaseUrl = None,
    debug: Debug = False,
) -> None:
    """Re-encrypt every OAuth token under the current key (the first of SOCIALDB_TOKEN_KEYS). Rerunnable.

    Example: SOCIALDB_TOKEN_KEYS=k2:<new>,k1:<old> socialdb tokens rotate
    """
    cipher = call(tokens.TokenCipher.from_env, debug)
    url = target_url(database_url, debug)
    result = call(lambda: tokens.rotate(url, cipher, batch_size, say, encrypt_plaintext=encrypt_plaintext), debug, url)
    say(f"{result.reencrypted} token(s) re-encrypted; every token is under key {cipher.current!r}")
