"""Ids and numbers on page routes: the API's id bounds and finite-number parsing, never a 500.

Found in an attack: /runs/99999999999999999999, /compare?run=99999999999999999999&run=1,
/explorer?horizon=1e309, 900 nested objects in `inputs` (RecursionError), a CSV field over 128 KB, and a
scenario saved with `inputs: {}` (which broke /explorer?scenario=ID for every viewer) all answered 500.
Both backends (the `client` fixture).
"""

from __future__ import annotations

import json
import uuid

import pytest

HUGE = "99999999999999999999"


@pytest.mark.parametrize(
    "url",
    [
        f"/runs/{HUGE}",
        f"/runs/{HUGE}/export.csv",
        f"/runs/{HUGE}/export.json",
        f"/price-quotes/{HUGE}/edit",
        f"/compare?run={HUGE}&run=1",
        f"/compare?scenario={HUGE}&scenario=1",
        "/compare?run=abc&run=1",
        f"/compare.csv?run={HUGE}&run=1",
        f"/api/v1/users/{HUGE}",
        f"/api/v1/tokens/{HUGE}",
    ],
)
def test_huge_ids_and_non_finite_numbers_are_4xx(client, url: str) -> None:
    answer = client.get(url, headers={"accept": "text/html"})
    assert 400 <= answer.status_code < 500, (url, answer.status_code, answer.text[:300])


@pytest.mark.parametrize("query", ["horizon=1e309", "paths=1e309", "horizon=nan", "paths=-1e309"])
def test_non_finite_explorer_numbers_are_explained_not_500(client, query: str) -> None:
    """The explorer keeps the user's input and says what is wrong next to the field (its normal answer)."""
    answer = client.get(f"/explorer?{query}", headers={"accept": "text/html"})
    assert answer.status_code < 500, answer.text[:300]
    assert "finite" in answer.text or "number" in answer.text


@pytest.mark.parametrize(
    "url", [f"/runs/{HUGE}/replay", f"/admin/users/{HUGE}", f"/admin/tokens/{HUGE}/revoke"]
)
def test_huge_ids_in_posts_are_4xx(client, url: str) -> None:
    answer = client.post(url, data={})
    assert 400 <= answer.status_code < 500, (url, answer.status_code, answer.text[:300])


def _nested(depth: int) -> dict[str, object]:
    doc: dict[str, object] = {}
    for _ in range(depth):
        doc = {"a": doc}
    return doc


@pytest.mark.parametrize("depth", [33, 900])
def test_deeply_nested_json_is_422(client, depth: int) -> None:
    body = json.dumps({"name": f"deep-{uuid.uuid4().hex[:6]}", "inputs": _nested(depth)})
    answer = client.post("/api/v1/scenarios", content=body, headers={"content-type": "application/json"})
    assert answer.status_code == 422, answer.text[:300]
    assert "nest" in answer.text


def test_json_nested_32_deep_is_accepted_as_json(client) -> None:
    body = json.dumps({"name": f"ok-{uuid.uuid4().hex[:6]}", "inputs": _nested(30)})
    answer = client.post("/api/v1/scenarios", content=body, headers={"content-type": "application/json"})
    assert answer.status_code != 500 and "nest" not in answer.text


def test_csv_field_over_the_limit_is_422_naming_the_line(client) -> None:
    header = "provider,instance_type,accelerator_count,pricing_model,usd_per_hour,effective_from\n"
    good = "Test,a1,8,on_demand,20,2025-01-01\n"
    bad = "Test," + "x" * 200_000 + ",8,on_demand,20,2025-01-01\n"
    answer = client.post(
        "/api/v1/price-quotes/import?dry_run=true",
        files={"file": ("q.csv", (header + good + bad).encode(), "text/csv")},
    )
    assert answer.status_code == 422, answer.text[:300]
    assert "line 3" in answer.text


def test_scenario_with_empty_inputs_renders_an_explanation(client) -> None:
    made = client.post("/api/v1/scenarios", json={"name": f"empty-{uuid.uuid4().hex[:6]}", "inputs": {}})
    assert made.status_code == 201, made.text
    page = client.get(f"/explorer?scenario={made.json()['id']}")
    assert page.status_code in (200, 422), page.text[:300]
    assert "cannot be read" in page.text  # the explanation, next to the scenario picker


def test_every_id_in_a_path_has_the_id_bounds() -> None:
    """Every route's `{..._id}` path parameter (API and pages alike) is bounded like the API's ids, so a huge
    id is a 422 and never reaches the database (where it overflowed: 500)."""
    from app.main import app
    from app.web.schemas import MAX_ID

    routes = [
        r
        for top in app.routes
        if hasattr(top, "effective_route_contexts")
        for r in top.effective_route_contexts()
    ]
    unbounded = []
    for route in routes:
        for param in route.dependant.path_params:
            if not (param.name == "id" or param.name.endswith("_id")):
                continue
            bounds = [getattr(m, "le", None) for m in param.field_info.metadata]
            if MAX_ID not in bounds:
                unbounded.append(f"{route.path} {param.name}")
    assert not unbounded, unbounded
