"""Database URL resolution and masking: pure."""

from __future__ import annotations

import pytest

from socialdb.db import mask_url, scrub, validate_url
from socialdb.errors import DatabaseUrlError
from socialdb.settings import resolve_target


@pytest.mark.parametrize(
    ("url", "masked"),
    [
        ("postgresql://app:s3cret@db:5432/x", "postgresql://app:***@db:5432/x"),
        ("postgres://app@db/x", "postgres://app@db/x"),
        ("postgresql://db/x?password=s3cret&sslmode=require", "postgresql://db/x?password=***&sslmode=require"),
        ("host=db password=s3cret dbname=x", "host=db password=*** dbname=x"),
        ("host=db password='s3 cret' dbname=x", "host=db password=*** dbname=x"),
    ],
)
def test_mask_url_hides_the_password(url: str, masked: str) -> None:
    assert mask_url(url) == masked
    assert "s3cret" not in mask_url(url) and "s3 cret" not in mask_url(url)


def test_scrub_removes_the_password_from_any_text() -> None:
    url = "postgresql://app:hunter2@db/x"
    assert "hunter2" not in scrub("failed for postgresql://app:hunter2@db/x (hunter2)", url)


def test_malformed_url_error_is_masked() -> None:
    with pytest.raises(DatabaseUrlError) as caught:
        validate_url("postgresql://app:hunter2@db:notaport/x")
    assert "hunter2" not in str(caught.value)
    assert "invalid database URL postgresql://app:***@db:notaport/x" in str(caught.value)


def test_resolution_order() -> None:
    env = {"DATABASE_URL": "postgresql://env/x"}
    target = resolve_target("postgresql://flag/x", env)
    assert target is not None and (target.url, target.source) == ("postgresql://flag/x", "--database-url")
    target = resolve_target(None, env)
    assert target is not None and target.source == "DATABASE_URL"
    assert resolve_target(None, {}) is None
