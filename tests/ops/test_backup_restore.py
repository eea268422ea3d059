"""Backups as the README tells operators to take them, restored into an empty database.

- docker/backup.sh (the compose `backup` service; PRICEWAR_BACKUP_ONCE=1 for cron) writes complete files and
  keeps the newest N;
- its newest file restored with `pricewar migrate` + `pricewar import` into an empty PostgreSQL database
  and an empty SQLite file gives back every row (a second export is the same document);
- `pg_dump -Fc` restored with `pg_restore` into an empty PostgreSQL database gives back the same data too.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from tests.conftest import create_postgres_database, migrate_and_seed

pytestmark = pytest.mark.postgres

SOURCE = Path(__file__).resolve().parents[2]
BACKUP_SCRIPT = SOURCE / "docker" / "backup.sh"
BIN = str(Path(sys.executable).parent)


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL" and not k.startswith("PRICEWAR_")}
    env["PATH"] = f"{BIN}:{env.get('PATH', '/usr/bin:/bin')}"
    env.update(extra)
    return env


def _pricewar(*args: str, url: str) -> str:
    done = subprocess.run(
        ["pricewar", *args], env=_env(DATABASE_URL=url), capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, f"pricewar {' '.join(args)}:\n{done.stdout}\n{done.stderr}"
    return done.stdout


def _data(path: Path) -> dict[str, Any]:
    """The export's data sections (the audit log gains the restore's own entry, so it is compared apart)."""
    document = json.loads(path.read_text(encoding="utf-8"))
    return {k: v for k, v in document.items() if not k.startswith("audit")}


@pytest.fixture(scope="module")
def source_database() -> Iterator[str]:
    """A seeded PostgreSQL database with a user edit on top of the reference data."""
    url, drop = create_postgres_database()
    engine = migrate_and_seed(url)
    with engine.begin() as connection:
        connection.execute(
            text(
                "UPDATE accelerators SET notes = 'edited before the backup', version = version + 1"
                " WHERE id = 1"
            )
        )
    engine.dispose()
    yield url
    drop()


def test_scheduled_backup_writes_whole_files_and_keeps_the_newest(
    source_database: str, tmp_path: Path
) -> None:
    folder = tmp_path / "backups"
    env = _env(
        DATABASE_URL=source_database,
        PRICEWAR_BACKUP_DIR=str(folder),
        PRICEWAR_BACKUP_KEEP="2",
        PRICEWAR_BACKUP_ONCE="1",
    )
    for _ in range(3):
        done = subprocess.run(
            ["sh", str(BACKUP_SCRIPT)], env=env, capture_output=True, text=True, timeout=300
        )
        assert done.returncode == 0, done.stderr
        time.sleep(1.1)  # file names are stamped to the second
    files = sorted(p.name for p in folder.iterdir())
    assert len(files) == 2 and all(f.startswith("pricewar-") and f.endswith(".json") for f in files), files
    newest = _data(folder / files[-1])
    assert newest["schema_version"] and len(newest["accelerators"]) == 18


@pytest.mark.parametrize("target", ["postgresql", "sqlite"])
def test_an_export_restores_into_an_empty_database(source_database: str, target: str, tmp_path: Path) -> None:
    backup = tmp_path / "backup.json"
    _pricewar("export", str(backup), url=source_database)
    drop = None
    if target == "postgresql":
        url, drop = create_postgres_database()
    else:
        url = f"sqlite:///{tmp_path / 'restored.sqlite3'}"
    try:
        _pricewar("migrate", url=url)
        _pricewar("import", str(backup), url=url)
        again = tmp_path / "again.json"
        _pricewar("export", str(again), url=url)
        original, restored = _data(backup), _data(again)
        assert restored == original
        notes = [a["notes"] for a in restored["accelerators"] if a["id"] == 1]
        assert notes == ["edited before the backup"]
        with pytest.raises(AssertionError, match="empty"):  # a second restore never merges into data
            _pricewar("import", str(backup), url=url)
    finally:
        if drop is not None:
            drop()


def test_pg_dump_restores_into_an_empty_database(source_database: str, tmp_path: Path) -> None:
    if shutil.which("pg_dump") is None or shutil.which("pg_restore") is None:
        pytest.skip("pg_dump/pg_restore not installed")
    plain = source_database.replace("postgresql+psycopg://", "postgresql://")
    dump = tmp_path / "pricewar.dump"
    subprocess.run(["pg_dump", "-Fc", "-f", str(dump), plain], check=True, timeout=300)
    url, drop = create_postgres_database()
    try:
        target = url.replace("postgresql+psycopg://", "postgresql://")
        subprocess.run(
            ["pg_restore", "--no-owner", "--exit-on-error", "-d", target, str(dump)], check=True, timeout=300
        )
        _pricewar("migrate", url=url)  # already at head: nothing to do, nothing fails
        before, after = tmp_path / "before.json", tmp_path / "after.json"
        _pricewar("export", str(before), url=source_database)
        _pricewar("export", str(after), url=url)
        assert json.loads(after.read_text()) == json.loads(before.read_text())  # audit log included
    finally:
        drop()
