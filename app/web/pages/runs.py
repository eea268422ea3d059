"""Runs: stored simulation runs, each replayable (same inputs, same seed → same numbers), with CSV and JSON
exports of exactly the tables the page shows."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.db.models import Scenario, SimulationRun
from app.services import crud, paging
from app.web.charts.pricewar import (
    cash_fan_chart,
    price_timeline_chart,
    share_chart,
    strategy_of,
    survival_chart,
)
from app.web.currency import current_money
from app.web.deps import SessionDep, reads_first
from app.web.heavy import HeavyWork
from app.web.pages import pricewar_inputs as pw
from app.web.pages.forms import see_other
from app.web.pages.render import render
from app.web.pages.run_tables import ShownTable, tables_for
from app.web.schemas import IdPath

router = APIRouter()
EXPORT_SCHEMA_VERSION = 1


def _run(session: Session, run_id: int) -> SimulationRun:
    return crud.get_row(session, SimulationRun, run_id)


def _strategy(run: SimulationRun, wanted: str | None) -> str:
    names: list[str] = [s["name"] for s in run.results["strategies"]]
    return wanted if wanted in names else names[0]


def _month_n(run: SimulationRun) -> int:
    return min(18, run.horizon_months)


RUNS_PAGE_SIZE = 50


@router.get("/runs", response_class=HTMLResponse)
def runs(request: Request, session: SessionDep) -> HTMLResponse:
    # One bounded page, newest first (paging: an index walk of the primary key, a capped count).
    pager = paging.paginate(
        session,
        select(SimulationRun).order_by(SimulationRun.id.desc()),
        paging.page_number(request.query_params.get("page")),
        RUNS_PAGE_SIZE,
    )
    rows = pager.items
    scenario_ids = {r.scenario_id for r in rows if r.scenario_id is not None}
    names: dict[int | None, str] = (
        dict(session.execute(select(Scenario.id, Scenario.name).where(Scenario.id.in_(scenario_ids))).all())
        if scenario_ids
        else {}
    )
    listing = []
    for r in rows:
        best = max(r.results.get("strategies", []), key=lambda s: s["survival_probability"], default=None)
        listing.append(
            {
                "run": r,
                "scenario": names.get(r.scenario_id, "—"),
                "best": best,
                "strategy_count": len(r.results.get("strategies", [])),
            }
        )
    return render(
        request,
        "runs.html",
        {
            "active_nav": "runs",
            "listing": listing,
            "pager": pager,
            "pager_url": lambda number: f"/runs?page={number}" if number > 1 else "/runs",
            "pager_label": "Pages of stored runs",
        },
    )


@router.get("/runs/{run_id}", response_class=HTMLResponse)
def run_detail(run_id: IdPath, request: Request, session: SessionDep) -> HTMLResponse:
    run = _run(session, run_id)
    strategy = _strategy(run, request.query_params.get("strategy"))
    result = run.results
    month_n = _month_n(run)
    charts = [
        price_timeline_chart(result, strategy),
        cash_fan_chart(result, strategy, month_n),
        survival_chart(result),
        share_chart(result, strategy),
    ]
    replay_of = run.inputs.get("replay_of") if isinstance(run.inputs, dict) else None
    original = session.get(SimulationRun, replay_of) if replay_of else None
    return render(
        request,
        "run.html",
        {
            "active_nav": "runs",
            "run": run,
            "strategy": strategy,
            "charts": charts,
            "tables": tables_for(result, strategy),
            "strategy_names": [s["name"] for s in result["strategies"]],
            "focus": strategy_of(result, strategy),
            "scenario": session.get(Scenario, run.scenario_id) if run.scenario_id else None,
            "original": original,
            "identical": original is not None and original.results == run.results,
            "stored": request.query_params.get("stored"),
            "query": run.inputs.get("explorer_query", ""),
        },
    )


def _table(run: SimulationRun, name: str, strategy: str | None) -> ShownTable:
    tables = {t.name: t for t in tables_for(run.results, _strategy(run, strategy))}
    return tables.get(name) or tables["summary"]


@router.get("/runs/{run_id}/export.csv")
def export_csv(run_id: IdPath, request: Request, session: SessionDep) -> Response:
    """One table of the page as CSV: same rows and columns as the screen, numbers unformatted, units in the
    column keys (…_usd, …_fraction, …_months); with ?currency=EUR the amounts are in EUR (…_eur)."""
    run = _run(session, run_id)
    table = _table(run, request.query_params.get("table", "summary"), request.query_params.get("strategy"))
    money = current_money()  # the page's ?currency= (USD by default), the same dated rate as the screen
    suffix = "" if money.code == "USD" else f"-{money.code}"
    filename = f"run-{run.id}-{table.name}{suffix}.csv"
    return Response(
        table.to_csv(money),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


@router.get("/runs/{run_id}/export.json")
def export_json(run_id: IdPath, request: Request, session: SessionDep) -> Response:
    """The page's tables plus what makes the run replayable (inputs, seed, paths), versioned."""
    run = _run(session, run_id)
    strategy = _strategy(run, request.query_params.get("strategy"))
    body: dict[str, Any] = {
        "schema_version": EXPORT_SCHEMA_VERSION,
        "run_id": run.id,
        "name": run.name,
        "created_at": run.created_at.isoformat() if run.created_at else None,
        "seed": run.seed,
        "path_count": run.path_count,
        "horizon_months": run.horizon_months,
        "engine_version": run.engine_version,
        "strategy_shown": strategy,
        "tables": [t.to_json() for t in tables_for(run.results, strategy)],
        "inputs": run.inputs,
    }
    return JSONResponse(
        json.loads(json.dumps(body, default=str)),
        headers={"Content-Disposition": f'attachment; filename="run-{run.id}.json"'},
    )


@router.post("/runs/{run_id}/replay", response_class=HTMLResponse)
@reads_first
def replay(run_id: IdPath, session: SessionDep, work: HeavyWork) -> Response:
    """Run the stored inputs again (their seed, path count and strategies) through the simulator service and
    store the replay next to the original; its page says whether the numbers are identical."""
    run = _run(session, run_id)
    preset = pw.load_preset(run.inputs)
    scenario = dataclasses.replace(preset.scenario, seed=run.seed, paths_count=run.path_count)
    view = pw.create_run(session, preset, scenario, f"{run.name} (replay)"[:160])
    row = session.get(SimulationRun, view["id"])
    assert row is not None
    row.scenario_id = run.scenario_id  # see explorer.store_run: the service takes an id or inputs, not both
    row.inputs = {**row.inputs, "replay_of": run.id, "explorer_query": run.inputs.get("explorer_query", "")}
    session.flush()
    return see_other(f"/runs/{row.id}")
