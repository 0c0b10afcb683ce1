"""Development seed data: a demo seller with 20 products. Idempotent; refused in production."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import psycopg

from socialdb.db import connect
from socialdb.errors import SeedRefusedError, SocialdbError
from socialdb.settings import is_production

DEMO_EMAIL = "demo@socialselling.com"
DEMO_PASSWORD = "Demo123!"  # documented in the README: dev data only
PRODUCT_COUNT = 20

# Skipped when a live user has the email: the rule across sellers is the lookup table
# user_emails since 054-056 (decision 220), which no ON CONFLICT of users can name. A seed run
# at the same time as another one fails on that lookup's key instead of adding a second user.
_USER = """
INSERT INTO users (email, password_hash, name, email_verified)
SELECT %(email)s, %(hash)s, 'Demo User', true
WHERE NOT EXISTS (SELECT FROM users WHERE lower(email) = lower(%(email)s) AND deleted_at IS NULL)
"""

# Deterministic ids (md5 of a fixed text) make a rerun a no-op instead of 20 more rows; the
# key is (id, user_id) since 052 (015's unique index before it).
_PRODUCTS = """
INSERT INTO products (id, user_id, name, description, price, currency, category, is_available)
SELECT md5('socialdb-demo-product-' || n)::uuid,
       u.id,
       'Product ' || n,
       'Description for product ' || n,
       50 + (n * 37) %% 450 + 0.90,
       'BRL',
       (ARRAY['Electronics', 'Fashion', 'Beauty', 'Food'])[1 + n %% 4],
       true
FROM users AS u, generate_series(1, %s) AS n
WHERE lower(u.email) = lower(%s) AND u.deleted_at IS NULL
ON CONFLICT (id, user_id) DO NOTHING
"""


@dataclass(frozen=True)
class SeedResult:
    users_created: int
    products_created: int


def seed(url: str, environ: Mapping[str, str] | None = None) -> SeedResult:
    """Load the dev seed into the migrated database at `url`, in one transaction."""
    if is_production(environ):
        raise SeedRefusedError("refusing to load dev seed data: SOCIALDB_ENV=production")
    password_hash = _demo_password_hash()
    with connect(url, purpose="seed") as conn:
        try:
            with conn.transaction():
                users = conn.execute(_USER, {"email": DEMO_EMAIL, "hash": password_hash}).rowcount
                products = conn.execute(_PRODUCTS, (PRODUCT_COUNT, DEMO_EMAIL)).rowcount
        except (psycopg.errors.UndefinedTable, psycopg.errors.InvalidColumnReference) as exc:
            raise SocialdbError(
                f"cannot seed: the schema is not migrated ({exc.diag.message_primary}); run `socialdb migrate up` first"
            ) from None
    return SeedResult(users, products)


def _demo_password_hash() -> str:
    """argon2id with the library's defaults. argon2 loads here, when a seed runs: the platform's
    door stays light for a service that imports app/ and never seeds (tests/test_layout.py)."""
    from argon2 import PasswordHasher

    return PasswordHasher().hash(DEMO_PASSWORD)
