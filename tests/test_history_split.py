"""The up part is history; a rollback part may be corrected (issue 24's split, decision 110).

The history keeps each up part's own checksum (`migrations.up_checksum`). Rows written before
it have NULL there and the whole file's checksum: for the files whose rollback was corrected,
`rollback-corrections.toml` lists the whole-file checksum they had, with their up part's.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import psycopg
import pytest

from socialdb.errors import ChecksumMismatchError
from socialdb.migrate import runner
from socialdb.scripts.files import CORRECTIONS, default_directory, load_migrations
from tests.helpers import LATEST


def _copy(tmp_path: Path) -> Path:
    folder = tmp_path / "m"
    shutil.copytree(default_directory(), folder)
    return folder


def _before_the_split(url: str) -> None:
    """The history as an older runner left it: no up_checksum column, the whole file's checksum
    as the files had it then (the corrected ones' original, from the shipped list)."""
    earlier = {m.version: m.earlier_checksums for m in load_migrations(default_directory())}
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("ALTER TABLE migrations DROP COLUMN up_checksum")
        for version, checksums in earlier.items():
            if checksums:
                conn.execute("UPDATE migrations SET checksum = %s WHERE version = %s", (checksums[0], version))


def test_every_corrected_file_is_listed_with_its_original(tmp_path: Path) -> None:
    listed = (default_directory() / CORRECTIONS).read_text()
    corrected = [m for m in load_migrations(default_directory()) if m.earlier_checksums]
    assert {m.filename for m in corrected} == {
        "017-tenant-key-validate.sql",
        "018-roles-and-grants.sql",
        "019-row-level-security.sql",
        "020-product-search-config.sql",
    }
    assert all(m.filename in listed and m.checksum not in m.earlier_checksums for m in corrected)


def test_an_upgrade_from_the_old_history_proves_its_up_parts(db_url: str) -> None:
    _before_the_split(db_url)
    assert runner.verify(db_url) == []
    runner.up(db_url)  # adds the column; nothing pending
    rows = {r.version: r for r in runner.status(db_url)}
    assert rows[18].state == "applied" and rows[18].detail == "rollback corrected since applied"
    assert rows[17].state == "applied" and rows[17].detail == "rollback corrected since applied"
    assert rows[16].state == "applied" and rows[16].detail is None
    runner.down(db_url, to=16)  # the corrected rollbacks run
    assert len(runner.up(db_url)) == LATEST - 16


def test_an_old_row_whose_up_part_changed_is_still_a_change(db_url: str, tmp_path: Path) -> None:
    _before_the_split(db_url)
    folder = _copy(tmp_path)
    path = folder / "018-roles-and-grants.sql"
    path.write_text("-- an edit of the up part\n" + path.read_text())
    with pytest.raises(ChecksumMismatchError, match="018-roles-and-grants.sql: changed"):
        runner.up(db_url, folder)


def test_a_corrected_rollback_is_accepted_and_shown(db_url: str, tmp_path: Path) -> None:
    folder = _copy(tmp_path)
    path = folder / "011-create-notifications.sql"
    path.write_text(path.read_text() + "\n-- a corrected rollback\n")
    assert runner.verify(db_url, folder) == []
    row = next(r for r in runner.status(db_url, folder) if r.version == 11)
    assert (row.state, row.detail) == ("applied", "rollback corrected since applied")


def test_a_changed_up_part_is_refused(db_url: str, tmp_path: Path) -> None:
    folder = _copy(tmp_path)
    path = folder / "011-create-notifications.sql"
    text = path.read_text()
    path.write_text(text.replace("-- ROLLBACK", "SELECT 1;\n-- ROLLBACK", 1))
    with pytest.raises(ChecksumMismatchError, match="011-create-notifications.sql: changed"):
        runner.up(db_url, folder)
