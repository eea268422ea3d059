"""Every route that computes for seconds takes a slot of the work gate (app/web/heavy.py): the board packs run a
tornado and the flip analysis (7–12 s each on this machine), so an anonymous visitor must not be able to start
any number of them at once."""

from __future__ import annotations

from typing import Any

import pytest
from app.web.heavy import heavy_work
from tests.faults.test_event_loop import _routes

HEAVY = [
    ("GET", "/runs/{run_id}/report.html"),
    ("GET", "/runs/{run_id}/report.pdf"),
    ("GET", "/explorer/report.html"),
    ("GET", "/explorer/report.pdf"),
    ("POST", "/api/v1/simulations/preview"),
    ("POST", "/api/v1/simulations"),
]


def _calls(dependant: Any) -> set[Any]:
    found = {dependant.call}
    for child in dependant.dependencies:
        found |= _calls(child)
    return found


@pytest.mark.parametrize(("method", "path"), HEAVY)
def test_heavy_route_takes_a_slot_of_the_work_gate(method: str, path: str) -> None:
    routes = [r for r in _routes() if r.path == path and method in getattr(r, "methods", ())]
    assert routes, f"{method} {path} is not a route"
    assert heavy_work in _calls(routes[0].dependant), f"{method} {path} does not take a work slot"
