"""Issue 15 item 5: `environment` is one of three words; a typo stops the app at start.

Before, `environment` was a free string: PRICEWAR_ENVIRONMENT=prod started the app as if it were not in
production, so the check that refuses the default secret key in production never ran.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import ValidationError

from app.config import DEV_SECRET_KEY, Settings

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("typo", ["prod", "Production", "dev", "staging", ""])
def test_an_unknown_environment_is_refused_naming_the_field(typo: str) -> None:
    with pytest.raises(ValidationError) as raised:
        Settings(environment=typo)  # type: ignore[arg-type]  # a value outside the Literal, on purpose
    assert raised.value.errors()[0]["loc"] == ("environment",)


@pytest.mark.parametrize("environment", ["development", "production", "test"])
def test_the_three_environments_are_accepted(environment: str) -> None:
    secret = "x" * 64
    assert Settings(environment=environment, secret_key=secret).environment == environment  # type: ignore[arg-type]


def test_production_still_refuses_the_default_secret() -> None:
    with pytest.raises(ValidationError, match="PRICEWAR_SECRET_KEY"):
        Settings(environment="production", secret_key=DEV_SECRET_KEY)


def test_the_app_does_not_start_with_a_typo_in_the_environment(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "PRICEWAR_ENVIRONMENT": "prod",
        "PRICEWAR_DATA_DIR": str(tmp_path),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
    }
    started = subprocess.run(
        [sys.executable, "-c", "import app.main"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert started.returncode != 0
    assert "environment" in started.stderr and "prod" in started.stderr
