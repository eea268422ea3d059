"""Architecture guard: the engine imports no web framework, ORM or validation library."""

import json
import pkgutil
import subprocess
import sys
from pathlib import Path

import app.engine

FORBIDDEN = ("fastapi", "sqlalchemy", "pydantic", "starlette", "alembic", "jinja2")


def engine_modules() -> list[str]:
    root = Path(app.engine.__file__).parent
    return ["app.engine"] + [
        f"app.engine.{info.name}" for info in pkgutil.walk_packages([str(root)], prefix="") if info.name
    ]


def test_engine_imports_no_web_or_db_library() -> None:
    modules = engine_modules()
    assert "app.engine.training" in modules
    code = (
        "import importlib, json, sys\n"
        f"for name in {modules!r}:\n"
        "    importlib.import_module(name)\n"
        f"print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in {FORBIDDEN!r})))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(app.engine.__file__).parents[2],
    )
    assert json.loads(result.stdout.strip().splitlines()[-1]) == []


def test_glossary_is_a_docstring_list() -> None:
    doc = app.engine.__doc__ or ""
    assert "Glossary" in doc and "- MFU" in doc and "market" in doc
