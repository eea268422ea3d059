"""Price-war explorer: sliders over a stored scenario; charts redraw without a reload (charts.js fetches
/explorer/data); the URL carries only the changed inputs; save the view as a scenario or store it as a run."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any
from urllib.parse import parse_qsl, urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.db.models import Scenario, SimulationRun
from app.db.session import end_transaction
from app.engine.market.errors import ScenarioError
from app.engine.strategies import LEVERS
from app.services import crud, market_analysis
from app.services.errors import ServiceError
from app.web.charts.market_analysis import (
    equilibrium_chart,
    flip_sentences,
    flips_chart,
    profit_curve_chart,
)
from app.web.charts.pricewar import (
    breakeven_chart,
    cash_fan_chart,
    cash_runs_out,
    floor_text,
    insolvency_by,
    price_timeline_chart,
    share_chart,
    static_runway,
    strategy_of,
    survival_chart,
    tornado_chart,
)
from app.web.currency import current_money
from app.web.deps import SessionDep, reads_first
from app.web.formatting import usd
from app.web.heavy import HeavyWork
from app.web.pages import pricewar_inputs as pw
from app.web.pages.forms import FormErrors, form_values, see_other
from app.web.pages.live import canonical_url, live_errors, live_json
from app.web.pages.render import render

router = APIRouter()
DEFAULT_SCENARIO_SLUG = "china-may-2024"


def scenarios(session: Session) -> list[Scenario]:
    return list(session.scalars(select(Scenario).order_by(Scenario.is_preset.desc(), Scenario.name)))


def pick_scenario(rows: list[Scenario], wanted: str | None) -> Scenario | None:
    if wanted and wanted.isdigit():
        found = next((r for r in rows if r.id == int(wanted)), None)
        if found:
            return found
    return next(
        (r for r in rows if (r.inputs or {}).get("slug") == DEFAULT_SCENARIO_SLUG), rows[0] if rows else None
    )


def linked_ids(base: Scenario) -> dict[str, int | None]:
    """The base row's model configuration and accelerator: with both, the service runs the cost engine's
    strategies, exactly as the API does for that scenario."""
    return {"model_id": base.model_config_id, "accelerator_id": base.accelerator_id}


def expected_strategy_count(preset: Any, ids: dict[str, int | None]) -> int:
    if ids["model_id"] is not None and ids["accelerator_id"] is not None:
        return 2 ** len(LEVERS)  # the cost engine's strategies: every combination of the levers
    return max(1, len(preset.strategies))


def preview_paths(strategy_count: int) -> int:
    return pw.PREVIEW_PATHS if strategy_count <= 4 else pw.PREVIEW_PATHS // 2


def compute(session: Session, params: dict[str, str], *, with_tornado: bool = False) -> dict[str, Any]:
    """Everything the page, the live refresh and the stored run need, from the query parameters."""
    rows = scenarios(session)
    base = pick_scenario(rows, params.get("scenario"))
    ctx: dict[str, Any] = {
        "rows": rows,
        "base": base,
        "errors": FormErrors(),
        "values": {},
        "defaults": {},
        "fields": pw.FIELDS,
        "field_groups": pw.FIELD_GROUPS,
        "field_bounds": pw.bounds,
        "field_choices": {"rule": [(r, r) for r in pw.OUR_RULES], "cut_rival": [("", "every rival")]},
        "form": params,
    }
    if base is None:
        return ctx
    try:
        preset, scenario, values, defaults, errors = pw.build(base.inputs, params)
    except ScenarioError as exc:
        ctx["errors"]["scenario"] = f"This stored scenario cannot be read: {exc}"
        return ctx
    ctx.update(values=values, defaults=defaults, errors=errors, preset=preset)
    ctx["field_choices"]["cut_rival"] = pw.rival_choices(preset.scenario)
    if errors:
        return ctx
    ids = linked_ids(base)
    try:
        result, strategies = pw.preview(
            session, preset, scenario, preview_paths(expected_strategy_count(preset, ids)), **ids
        )
    except ServiceError as exc:
        errors[pw.field_for(exc.field or "")] = exc.message
        return ctx
    names = [s.name for s in strategies]
    wanted = params.get("strategy")
    chosen: str = wanted if wanted is not None and wanted in names else names[0]
    month_n = values["month_n"]
    focus = strategy_of(result, chosen)
    charts = [
        price_timeline_chart(result, chosen),
        share_chart(result, chosen),
        cash_fan_chart(result, chosen, month_n),
        breakeven_chart(
            result, chosen, scenario.firm.fixed_costs_usd_per_month, pw.breakeven_volume(scenario)
        ),
        survival_chart(result, wide=True),
    ]
    charts.extend(analysis_charts(scenario, strategies, focus))
    risk = insolvency_by(result, chosen, month_n)
    fragments = {
        "kpi-survival": f"{focus['survival_probability'] * 100:.0f} %",
        "kpi-risk": f"{risk * 100:.0f} %",
        "kpi-risk-label": f"P(cash < 0 by month {month_n})",
        "kpi-survival-label": f"P(survive to month {values['horizon']})",
        "kpi-floor-label": f"Our price floor ({current_money().symbol} / 1M), month 1 → {values['horizon']}",
        "kpi-cash-out": cash_runs_out(focus, values["horizon"]),
        "kpi-runway": static_runway(focus),
        "kpi-breakeven": f"month {focus['breakeven_month']}" if focus["breakeven_month"] else "not reached",
        "kpi-cash": usd(focus["cash_at_horizon_p50_usd"]),
        "kpi-floor": floor_text(focus),
    }
    shown = {"scenario": str(base.id), "strategy": chosen, **values}
    default_row = pick_scenario(rows, None)  # None exactly when there are no rows
    url_defaults = {
        "scenario": str(default_row.id if default_row is not None else ""),
        "strategy": names[0],
        **defaults,
    }
    url = canonical_url("/explorer", shown, url_defaults)
    ctx.update(
        scenario=scenario,
        strategies=strategies,
        strategy_names=names,
        chosen=chosen,
        result=result,
        charts=charts,
        fragments=fragments,
        url=url,
        query=url.partition("?")[2],
        paths=preview_paths(len(strategies)),
    )
    if params.get("flips") == "1":  # ~1-2 s of simulations: on request, like the tornado
        strategy = next(s for s in strategies if s.name == chosen)
        try:
            flips = market_analysis.flips_for(scenario, strategy, paths_count=FLIP_PATHS)
        except ScenarioError as exc:
            errors["scenario"] = str(exc)
            return ctx
        rival_names = list(result["rival_names"])
        ctx["flips_chart"] = flips_chart(flips, rival_names)
        ctx["flip_sentences"] = flip_sentences(flips, rival_names)
    if with_tornado:
        try:
            view = pw.tornado_view(
                session,
                preset,
                scenario,
                chosen,
                month_n,
                model_id=ids["model_id"],
                accelerator_id=ids["accelerator_id"],
            )
        except ServiceError as exc:
            errors[pw.field_for(exc.field or "")] = exc.message
            return ctx
        ctx["tornado_chart"] = tornado_chart(view, result["rival_names"])
    return ctx


FLIP_PATHS = 300


def analysis_charts(scenario: Any, strategies: Any, focus: Mapping[str, Any]) -> list[Any]:
    """Our profit-versus-price curve (month 1 and horizon) and the equilibrium beside the war, from the same
    demand model; cheap (no extra simulation). Left out, never a 500, if the model cannot price them."""
    strategy = next((s for s in strategies if s.name == focus["name"]), None)
    if strategy is None:
        return []
    try:
        curves = market_analysis.profit_curves(scenario, focus)
        eq = market_analysis.equilibria(scenario, strategy.unit_cost_usd_per_million_tokens, strategy.name)
    except (ScenarioError, ValueError, ZeroDivisionError, OverflowError):
        return []
    return [profit_curve_chart(curves), equilibrium_chart(eq, focus)]


@router.get("/explorer", response_class=HTMLResponse)
def explorer(request: Request, session: SessionDep) -> HTMLResponse:
    params = dict(request.query_params)
    ctx = compute(session, params, with_tornado=params.get("tornado") == "1")
    ctx.update(active_nav="explorer", saved=params.get("saved"), save_errors=FormErrors(), save_form={})
    return render(request, "explorer.html", ctx, status_code=422 if ctx["errors"] else 200)


@router.get("/explorer/data")
def explorer_data(request: Request, session: SessionDep) -> Response:
    ctx = compute(session, dict(request.query_params))
    if ctx["errors"]:
        return live_errors(ctx["errors"])
    return live_json(ctx["charts"], ctx["fragments"], ctx["url"])


@router.get("/explorer/tornado")
def explorer_tornado(request: Request, session: SessionDep) -> Response:
    """The tornado takes ~0.5 s (two simulations per uncertain input), so charts.js fetches it separately."""
    ctx = compute(session, dict(request.query_params), with_tornado=True)
    if ctx["errors"]:
        return live_errors(ctx["errors"])
    return live_json([ctx["tornado_chart"]], {}, ctx["url"])


async def _posted(request: Request) -> tuple[dict[str, str], dict[str, str]]:
    values = await form_values(request)
    params = dict(parse_qsl(values.get("query", ""), keep_blank_values=False))
    if values.get("scenario") and "scenario" not in params:
        params["scenario"] = values["scenario"]
    return values, params


Posted = Annotated[tuple[dict[str, str], dict[str, str]], Depends(_posted)]


def _save_failed(
    request: Request, session: Session, params: dict[str, str], values: dict[str, str], errors: FormErrors
) -> HTMLResponse:
    ctx = compute(session, params)
    ctx.update(active_nav="explorer", saved=None, save_errors=errors, save_form=values)
    return render(request, "explorer.html", ctx, status_code=422)


@router.post("/explorer/save", response_class=HTMLResponse)
@reads_first
def save_scenario(request: Request, session: SessionDep, posted: Posted, work: HeavyWork) -> Response:
    """Save the current view as a new scenario (POST → 303 → GET of the saved scenario)."""
    values, params = posted
    errors = FormErrors()
    name = (values.get("name") or "").strip()
    if not name:
        errors["name"] = "Give the scenario a name."
    elif len(name) > 160:
        errors["name"] = "At most 160 characters."
    elif session.scalar(select(Scenario.id).where(Scenario.name == name)) is not None:
        errors["name"] = f"A scenario named “{name}” already exists; choose another name."
    ctx = compute(session, params) if not errors else None
    if ctx is not None and ctx["errors"]:
        errors.update(ctx["errors"])
    if errors:
        return _save_failed(request, session, params, values, errors)
    assert ctx is not None
    doc = pw.saved_inputs(ctx["preset"], ctx["scenario"], name, (values.get("description") or "").strip())
    end_transaction(session)  # computed on a read; the write is a short transaction of its own
    try:
        row = crud.create_row(
            session,
            Scenario,
            {
                "name": name,
                "description": doc["description"],
                "inputs": doc,
                "source": ctx["base"].source,
                "is_preset": False,
                "model_config_id": ctx["base"].model_config_id,
                "accelerator_id": ctx["base"].accelerator_id,
                "as_of": ctx["base"].as_of,
            },
        )
    except ServiceError as exc:
        errors["name"] = exc.message
        return _save_failed(request, session, params, values, errors)
    return see_other("/explorer", scenario=row.id, saved="scenario")


@router.post("/explorer/run", response_class=HTMLResponse)
@reads_first
def store_run(request: Request, session: SessionDep, posted: Posted, work: HeavyWork) -> Response:
    """Run the current view with the scenario's own path count and seed and keep it (replayable)."""
    values, params = posted
    ctx = compute(session, params)
    if ctx["errors"] or ctx.get("scenario") is None:
        return _save_failed(request, session, params, values, ctx["errors"])
    name = (values.get("name") or "").strip()[:160] or f"{ctx['base'].name} · {ctx['chosen']}"
    try:
        view = pw.create_run(session, ctx["preset"], ctx["scenario"], name, **linked_ids(ctx["base"]))
    except ServiceError as exc:
        return _save_failed(request, session, params, values, FormErrors({"name": exc.message}))
    row = session.get(SimulationRun, view["id"])
    assert row is not None
    # The service takes a scenario id or inputs, not both: the page links the run to the scenario it was
    # explored from, and keeps the explorer's query so "Open in the explorer" restores the sliders.
    # Through crud.update_row: a derived write is audited like any other change.
    crud.update_row(
        session,
        row,
        {"scenario_id": ctx["base"].id, "inputs": {**row.inputs, "explorer_query": ctx["query"]}},
        row.version,
    )
    return see_other(f"/runs/{row.id}", stored="1")


def explorer_link(scenario_id: int, **params: Any) -> str:
    return "/explorer?" + urlencode({"scenario": scenario_id, **params})
