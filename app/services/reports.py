"""The board pack of a stored run as HTML or PDF (GET /runs/{id}/report.html and .pdf; the "report" job kind
calls the same two functions). Reads the run, ends the transaction, then computes the tornado and the flip
thresholds and renders: no database transaction is held while it computes."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy.orm import Session

from app.db.models import SimulationRun
from app.db.session import end_transaction
from app.engine.market.codec import PRESET_KEYS
from app.reports.board_pack import Extras, RunRecord, render_html, render_pdf
from app.reports.money import USD, Money
from app.services import crud, simulations
from app.services.errors import ServiceError, ValidationFailed

TORNADO_PATHS = 200
FLIP_PATHS = 100
FLIP_STEPS = 4


def _record(session: Session, run_id: int) -> RunRecord:
    row = crud.get_row(session, SimulationRun, run_id)
    return RunRecord(
        row.id,
        row.name,
        row.created_at,
        row.seed,
        row.path_count,
        row.horizon_months,
        row.engine_version,
        dict(row.inputs or {}),
        dict(row.results or {}),
    )


def display_money(session: Session, currency: str) -> Money:
    """The display currency: USD as computed, or a dated rate from the FX table when there is one."""
    code = (currency or "USD").upper()
    if code == "USD":
        return USD
    from app.services import fx  # the dated FX-rate table (display currency)

    money = fx.money(session, code)
    if money is None:
        raise ValidationFailed(f"no exchange rate for {code!r} in the FX table", field="currency")
    return money


def _extras(session: Session, run: RunRecord, strategy: str | None) -> Extras:
    request: dict[str, Any] = {"inputs": {k: v for k, v in run.inputs.items() if k in PRESET_KEYS}}
    notes: list[str] = []
    tornado = flips = None
    try:
        tornado = simulations.tornado_preview(
            session,
            {
                **request,
                "tornado": {
                    "strategy": strategy,
                    "outcome": "cash_at_month",
                    "outcome_month": run.horizon_months,
                    "paths_count": TORNADO_PATHS,
                },
            },
        )
    except ServiceError as exc:
        notes.append(f"Tornado not computed: {exc.message}")
    from app.services import market_analysis

    try:
        flips = market_analysis.flips_view(
            session,
            {**request, "flips": {"strategy": strategy, "paths_count": FLIP_PATHS, "steps": FLIP_STEPS}},
        )
    except ServiceError as exc:
        notes.append(f"Flip thresholds not computed: {exc.message}")
    else:
        notes.append(
            f"Flip thresholds from {FLIP_PATHS} paths per variant ({FLIP_STEPS} bisection steps), "
            f"tornado from {TORNADO_PATHS}, the run's own seed."
        )
    return Extras(tornado, flips, tuple(notes))


def render_run_report_html(
    session: Session, run_id: int, currency: str = "USD", strategy: str | None = None
) -> str:
    """The self-contained board pack (inline CSS and SVG charts, no script, nothing fetched)."""
    run = _record(session, run_id)
    money = display_money(session, currency)
    names = [s["name"] for s in run.results.get("strategies", [])]
    chosen = strategy if strategy in names else (names[0] if names else None)
    end_transaction(session)  # the run is read: no transaction is held while the pack computes
    return render_html(run, chosen, money, _extras(session, run, chosen))


def render_run_report_pdf(
    session: Session, run_id: int, currency: str = "USD", strategy: str | None = None
) -> bytes:
    """The same board pack as a PDF (WeasyPrint)."""
    return render_pdf(render_run_report_html(session, run_id, currency, strategy))


def render_preview_report_html(
    session: Session,
    request: Mapping[str, Any],
    currency: str = "USD",
    strategy: str | None = None,
    *,
    title: str | None = None,
) -> str:
    """The board pack of a view that is not stored — the explorer's current inputs: `request` is the body of
    POST /simulations/preview (`inputs`, optional `model_id`/`accelerator_id`, `paths_count`). The same
    document as a stored run's, marked "not stored", from that preview (its paths, the scenario's seed), with
    the same tornado and flip thresholds. Nothing is written."""
    money = display_money(session, currency)
    view = simulations.preview(session, request)  # reads, ends the transaction, then computes
    run = RunRecord(
        None,
        (title or view["name"])[:160],
        None,
        int(view["seed"]),
        int(view["paths_count"]),
        int(view["horizon_months"]),
        str(view["engine_version"]),
        dict(view["inputs"] or {}),
        dict(view["results"] or {}),
    )
    names = [s["name"] for s in run.results.get("strategies", [])]
    chosen = strategy if strategy in names else (names[0] if names else None)
    return render_html(run, chosen, money, _extras(session, run, chosen))


def render_preview_report_pdf(
    session: Session,
    request: Mapping[str, Any],
    currency: str = "USD",
    strategy: str | None = None,
    *,
    title: str | None = None,
) -> bytes:
    """The explorer view's board pack as a PDF (WeasyPrint)."""
    return render_pdf(render_preview_report_html(session, request, currency, strategy, title=title))
