"""Deterministic, realistic data for the benchmark, loaded with COPY into both schemas at once.

Scale 1: 1,000 sellers, 2,000 accounts, 100,000 products, 200,000 conversations,
2,000,000 messages, 5,000,000 analytics events over one year. Activity is skewed
(a few big sellers, many small ones): an index drawn as int(n * random() ** k).
"""

from __future__ import annotations

import contextlib
import random
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import psycopg
from psycopg import sql

SEED = 20261125
START = datetime(2025, 11, 1, tzinfo=UTC)
YEAR_S = 365 * 24 * 3600
SIZES = {"users": 1000, "accounts": 2000, "products": 100_000, "conversations": 200_000,
         "messages": 2_000_000, "events": 5_000_000}  # fmt: skip

ITEMS = ["Vestido", "Blusa", "Saia", "Bolsa", "Sandália", "Tênis", "Colar", "Brinco", "Batom", "Perfume",
         "Camiseta", "Calça", "Jaqueta", "Óculos", "Relógio", "Hidratante", "Sabonete", "Bolo", "Brigadeiro",
         "Pão de mel", "Biquíni", "Maiô", "Pulseira", "Kit maquiagem", "Cesta de café"]  # fmt: skip
QUALITIES = ["floral", "de couro", "de algodão", "em promoção", "artesanal", "infantil", "plus size",
             "importado", "vegano", "de verão", "de inverno", "básico", "estampado", "de festa", "fitness"]  # fmt: skip
PHRASES = ["Entrega para todo o Brasil.", "Pronta entrega.", "Feito à mão em Minas Gerais.",
           "Promoção válida até domingo.", "Aceitamos Pix e cartão.", "Tecido leve e confortável.",
           "Frete grátis acima de R$ 199.", "Edição limitada.", "Sem parabenos.", "Sabor chocolate belga."]  # fmt: skip
CUSTOMER_SAYS = ["Oi, tudo bem?", "Qual o preço?", "Tem no tamanho M?", "Ainda está disponível?",
                 "Quanto fica o frete para São Paulo?", "Aceita Pix?", "Vou querer!", "Pode mandar mais fotos?",
                 "A promoção ainda está valendo?", "Chega até sexta?", "Tem outras cores?", "Obrigada ❤️"]  # fmt: skip
SELLER_SAYS = ["Olá! Tudo ótimo, e com você?", "Está R$ 89,90 no Pix.", "Temos sim!", "Frete fixo de R$ 15.",
               "Aceitamos Pix e cartão em até 3x.", "Vou te mandar agora.", "Chega em 2 dias úteis.",
               "Temos azul, preto e rosé."]  # fmt: skip
EVENTS = [
    ("engagement", "profile_view"), ("engagement", "post_like"), ("message", "message_received"),
    ("message", "message_sent"), ("sales", "sale"), ("sales", "link_click"), ("content", "post_published"),
]  # fmt: skip


@dataclass(frozen=True)
class World:
    """The ids generated so far, which later tables point at."""

    users: list[uuid.UUID]
    accounts: list[tuple[uuid.UUID, uuid.UUID]]  # (account id, its seller)
    conversations: list[tuple[uuid.UUID, uuid.UUID]]  # (conversation id, its seller)


def sizes(scale: float) -> dict[str, int]:
    return {name: max(int(count * scale), 2) for name, count in SIZES.items()}


def _uuid(rng: random.Random) -> uuid.UUID:
    return uuid.UUID(int=rng.getrandbits(128), version=4)


def _skewed(rng: random.Random, n: int, power: float = 2.0) -> int:
    return int(n * rng.random() ** power)


def _moment(rng: random.Random) -> datetime:
    return START + timedelta(seconds=rng.randrange(YEAR_S))


# Each table: its columns in our schema; the spec's schema lacks the ones in SPEC_SKIPS.
COLUMNS = {
    "users": ["id", "email", "password_hash", "name"],
    "client_accounts": ["id", "user_id", "platform", "platform_account_id", "username", "follower_count"],
    "products": ["id", "user_id", "name", "description", "price", "category", "is_available", "created_at"],
    "conversations": [
        "id",
        "client_account_id",
        "user_id",
        "platform_conversation_id",
        "participant_platform_id",
        "participant_username",
        "status",
    ],
    "messages": [
        "id",
        "conversation_id",
        "user_id",
        "platform_message_id",
        "sender_type",
        "content",
        "is_read",
        "sent_at",
    ],
    "analytics_events": ["user_id", "client_account_id", "event_type", "event_category", "value", "occurred_at"],
}
SPEC_SKIPS = {"conversations": {"user_id"}, "messages": {"user_id"}}


def rows(table: str, rng: random.Random, count: int, world: World) -> Iterator[tuple[Any, ...]]:
    if table == "users":
        for n in range(count):
            world.users.append(_uuid(rng))
            yield (world.users[-1], f"vendedora{n}@exemplo.com.br", "$argon2id$bench", f"Loja {n}")
    elif table == "client_accounts":
        for n in range(count):
            account, owner = _uuid(rng), world.users[_skewed(rng, len(world.users), 3)]
            world.accounts.append((account, owner))
            platform = "instagram" if n % 3 else "whatsapp"
            yield (account, owner, platform, f"acct{n}", f"loja_{n}", rng.randrange(100, 500_000))
    elif table == "products":
        for _ in range(count):
            name = f"{rng.choice(ITEMS)} {rng.choice(QUALITIES)}"
            description = " ".join(rng.sample(PHRASES, 2))
            price = Decimal(rng.randrange(990, 59_990)) / 100
            owner = world.users[_skewed(rng, len(world.users), 2)]
            yield (_uuid(rng), owner, name, description, price, rng.choice(ITEMS), rng.random() < 0.9, _moment(rng))
    elif table == "conversations":
        for n in range(count):
            conversation = _uuid(rng)
            account, owner = world.accounts[_skewed(rng, len(world.accounts))]
            world.conversations.append((conversation, owner))
            status = "open" if rng.random() < 0.7 else rng.choice(["closed", "archived"])
            yield (conversation, account, owner, f"conv{n}", f"cliente{n}", f"cliente_{n}", status)
    elif table == "messages":
        for n in range(count):
            conversation, owner = world.conversations[_skewed(rng, len(world.conversations))]
            customer = rng.random() < 0.6
            text = rng.choice(CUSTOMER_SAYS if customer else SELLER_SAYS)
            is_read = not customer or rng.random() < 0.85
            yield (_uuid(rng), conversation, owner, f"msg{n}", "customer" if customer else "user", text, is_read,
                   _moment(rng))  # fmt: skip
    elif table == "analytics_events":
        for _ in range(count):
            account, owner = world.accounts[_skewed(rng, len(world.accounts))]
            category, kind = rng.choice(EVENTS)
            value = Decimal(rng.randrange(1_000, 40_000)) / 100 if kind == "sale" else None
            yield (owner, account if rng.random() < 0.8 else None, kind, category, value, _moment(rng))


TABLE_SIZES = {"users": "users", "client_accounts": "accounts", "products": "products",
               "conversations": "conversations", "messages": "messages", "analytics_events": "events"}  # fmt: skip


def load(
    ours: psycopg.Connection[Any],
    spec: psycopg.Connection[Any],
    scale: float,
    progress: Callable[[str, int, int], None],
) -> list[Timing]:
    """COPY the same rows into both databases; returns the time of each table and of each index build. Needs
    a superuser: triggers (and FK checks) are off during the load, counters are set after it."""
    return load_into([Target("socialdb", ours, {}, True), Target("spec", spec, SPEC_SKIPS, False)], scale, progress)


@dataclass(frozen=True)
class Target:
    """A database the load writes: its label (in the timings), a superuser's connection, the columns
    its schema lacks per table, and whether it has socialdb's lookup tables (054) to fill after."""

    label: str
    conn: psycopg.Connection[Any]
    skips: dict[str, set[str]]
    lookups: bool


def load_into(targets: list[Target], scale: float, progress: Callable[[str, int, int], None]) -> list[Timing]:
    """COPY the same rows (one generator, one seed) into every target at once, with triggers off and the
    secondary indexes dropped; then the counters, the lookups and the indexes, target by target."""
    rng = random.Random(SEED)
    world = World([], [], [])
    counts = sizes(scale)
    timings: list[Timing] = []
    dropped = [_drop_secondary_indexes(t.conn) for t in targets]
    for t in targets:
        t.conn.execute("SET session_replication_role = replica")
    for table, columns in COLUMNS.items():
        total = counts[TABLE_SIZES[table]]
        kept = [[i for i, c in enumerate(columns) if c not in t.skips.get(table, set())] for t in targets]
        started = time.monotonic()
        with contextlib.ExitStack() as stack:
            cursors = [stack.enter_context(t.conn.cursor()) for t in targets]
            copies = [
                stack.enter_context(cur.copy(_copy_sql(table, [columns[i] for i in keep])))
                for cur, keep in zip(cursors, kept, strict=True)
            ]
            for n, row in enumerate(rows(table, rng, total, world), start=1):
                for copy, keep in zip(copies, kept, strict=True):
                    copy.write_row(row if len(keep) == len(row) else tuple(row[i] for i in keep))
                if n % 50_000 == 0:
                    progress(table, n, total)
        progress(table, total, total)
        timings.append(Timing(table, total, time.monotonic() - started))
    for t, definitions in zip(targets, dropped, strict=True):
        label = f"indexes, {t.label}"
        started = time.monotonic()
        t.conn.execute("SET session_replication_role = origin")
        t.conn.execute(_COUNTERS)
        if t.lookups:
            t.conn.execute(_LOOKUPS)
        t.conn.execute("SET maintenance_work_mem = '1GB'")
        for done, definition in enumerate(definitions, start=1):  # one pass each: far faster than row by row
            progress(label, done, len(definitions))
            t.conn.execute(definition.encode())
        t.conn.commit()
        timings.append(Timing(f"counters and {label}", 0, time.monotonic() - started))
    return timings


@dataclass(frozen=True)
class Timing:
    """One step of the load: a table's COPY (`rows` rows into each database), or a build after it (no rows)."""

    step: str
    rows: int
    seconds: float

    @property
    def rate(self) -> float:
        return self.rows / self.seconds if self.seconds else 0.0


def _drop_secondary_indexes(conn: psycopg.Connection[Any]) -> list[str]:
    """Drop the indexes that back no constraint (to rebuild them after the load); return their definitions.

    On a partitioned table, the parent's index (its definition says `ON ONLY`: without it the rebuild
    makes every partition's index); a partition's own index, attached to it, goes with it."""
    rows = conn.execute(
        "SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid) FROM pg_index i"
        " JOIN pg_class t ON t.oid = i.indrelid"
        " WHERE t.relnamespace = 'public'::regnamespace AND t.relkind IN ('r', 'p')"
        " AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid)"
        " AND NOT EXISTS (SELECT 1 FROM pg_inherits h WHERE h.inhrelid = i.indexrelid)"
    ).fetchall()
    for name, _ in rows:
        conn.execute(sql.SQL("DROP INDEX {}").format(sql.Identifier(name)))
    return [definition.replace(" ON ONLY ", " ON ", 1) for _, definition in rows]


def _copy_sql(table: str, columns: list[str]) -> sql.Composed:
    return sql.SQL("COPY {} ({}) FROM STDIN").format(
        sql.Identifier(table), sql.SQL(", ").join(map(sql.Identifier, columns))
    )


# What the triggers would have kept, computed once after the load.
_COUNTERS = """
UPDATE conversations AS c
SET unread_count = s.unread, last_message_at = s.newest
FROM (
  SELECT conversation_id, count(*) FILTER (WHERE sender_type = 'customer' AND NOT is_read) AS unread,
         max(sent_at) AS newest
  FROM messages GROUP BY conversation_id
) AS s
WHERE c.id = s.conversation_id
"""
# What the triggers of migration 054 would have written (the lookups of the rules across
# sellers, decision 220), in one pass each. The spec's schema has no such tables.
_LOOKUPS = """
INSERT INTO user_emails (email_key, user_id)
SELECT lower(email), id FROM users WHERE deleted_at IS NULL;
INSERT INTO platform_accounts (platform, platform_account_id, user_id, client_account_id)
SELECT platform, platform_account_id, user_id, id FROM client_accounts WHERE deleted_at IS NULL;
INSERT INTO short_links (short_link, user_id, product_link_id)
SELECT short_link, user_id, id FROM product_links WHERE short_link IS NOT NULL
"""
