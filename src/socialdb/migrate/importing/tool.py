"""The tools whose migrations `socialdb migrate import` reads: a module of its own, so that the
command line can name them without loading the readers (a no-op `migrate up` registers the
`import` command; docs/performance.md, "A no-op migrate up")."""

from __future__ import annotations

from enum import StrEnum


class Tool(StrEnum):
    DBMATE = "dbmate"
    GOLANG_MIGRATE = "golang-migrate"
    NODE_PG_MIGRATE = "node-pg-migrate"
    FLYWAY = "flyway"
    DIESEL = "diesel"
