"""Starting the app imports no report-only library: matplotlib (the board pack's charts) and WeasyPrint (its
PDF) load when a report is rendered, so every process start (the server, each worker, the CLI) stays quick."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[1]


def test_importing_the_app_loads_no_report_only_library() -> None:
    probe = (
        "import sys, app.main; "
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'matplotlib', 'weasyprint'}))"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], cwd=PROJECT_ROOT, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "[]", out.stdout + out.stderr
