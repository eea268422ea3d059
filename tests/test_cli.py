"""The `pricewar` command line."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest


def _run(*args: str, db: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{db}"}
    return subprocess.run(
        [sys.executable, "-m", "app.cli", *args], capture_output=True, text=True, env=env, timeout=120
    )


@pytest.mark.parametrize("command", ["serve", "migrate", "seed", "export", "import"])
def test_every_command_has_help(command: str) -> None:
    result = _run(command, "--help", db=Path(tempfile.mkdtemp()) / "x.sqlite3")
    assert result.returncode == 0 and "usage: pricewar" in result.stdout


def _add_a_measurement(db: Path) -> None:
    """One of the user's measurements (issue 10): it travels in the export like the rest."""
    from datetime import date

    from sqlalchemy import create_engine
    from sqlalchemy.orm import Session

    from app.db.models import Measurement  # with the tables its foreign keys point to (run alone, too)

    engine = create_engine(f"sqlite:///{db}")
    with Session(engine) as session:
        session.add(
            Measurement(kind="training", model_config_id=1, accelerator_id=1, gpu_count=8, precision="bf16",
                        tokens_per_second=1.0e4, measured_on=date(2026, 11, 20), source="run 7")
        )  # fmt: skip
        session.commit()
    engine.dispose()


def test_migrate_seed_export_import_round_trip() -> None:
    folder = Path(tempfile.mkdtemp())
    source, target, dump = folder / "a.sqlite3", folder / "b.sqlite3", folder / "dump.json"
    assert _run("migrate", db=source).returncode == 0
    first = _run("seed", db=source)
    assert first.returncode == 0 and "18 accelerators" in first.stdout
    assert "already loaded" in _run("seed", db=source).stdout
    _add_a_measurement(source)
    assert _run("export", str(dump), db=source).returncode == 0
    assert len(json.loads(dump.read_text())["measurements"]) == 1
    assert _run("migrate", db=target).returncode == 0
    imported = _run("import", str(dump), db=target)
    assert imported.returncode == 0, imported.stderr
    again = json.loads(_run("export", "-", db=target).stdout)
    before = json.loads(dump.read_text())
    # The streamed export carries the audit log; the import appends its own entry to it.
    audit_before, audit_after = before.pop("audit_entries"), again.pop("audit_entries")
    assert again == before
    assert audit_after[: len(audit_before)] == audit_before
    assert [e["action"] for e in audit_after[len(audit_before) :]] == ["import"]
    refused = _run("import", str(dump), db=target)
    assert refused.returncode == 2 and "not empty" in refused.stderr


def test_import_prices_from_published_files_for_cron() -> None:
    published = Path(__file__).resolve().parent / "fixtures" / "published"
    db = Path(tempfile.mkdtemp()) / "prices.sqlite3"
    assert _run("migrate", db=db).returncode == 0
    assert _run("seed", db=db).returncode == 0
    litellm = str(published / "litellm_model_prices_sample.json")
    refused = _run("import-prices", "--source", "litellm", litellm, "--effective-from", "2026-11-30", db=db)
    assert refused.returncode == 2 and "nothing written" in refused.stderr  # the sample has two broken entries
    dry = _run("import-prices", "--source", "litellm", litellm, "--dry-run", db=db)
    assert dry.returncode == 0, dry.stderr
    assert json.loads(dry.stdout)["skipped"] == 2
    catalog = str(published / "skypilot_aws_vms_sample.csv")
    missing = _run("import-prices", "--source", "skypilot", catalog, "--dry-run", db=db)
    assert missing.returncode == 2 and "--provider" in missing.stderr
    sky = _run("import-prices", "--source", "skypilot", catalog, "--provider", "aws", "--dry-run", db=db)
    assert sky.returncode == 0, sky.stderr
    assert json.loads(sky.stdout)["invalid"] == 2
