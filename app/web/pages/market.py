"""Market data pages: price-floor alerts (/alerts); quality-adjusted prices and the imports of published price
files (/market); owning versus renting accelerators (/hardware/ownership)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import select

from app.db.models import PRICING_MODELS, Accelerator
from app.services import alerts, litellm_import, ownership, quality_prices, skypilot_import
from app.services.errors import ServiceError
from app.web.api.ownership import OwnershipRequestBody
from app.web.auth import require_role
from app.web.charts.base import Chart, axis, color, figure, layout, table
from app.web.charts.quality import equal_capability_chart, price_capability_chart
from app.web.deps import SessionDep
from app.web.formatting import usd
from app.web.heavy import HeavyWork
from app.web.pages.forms import FormErrors, parse_date, see_other, validate_with
from app.web.pages.render import render

router = APIRouter(dependencies=[require_role("viewer")])


ALERTS_PAGE_SIZE = 50


@router.get("/alerts", response_class=HTMLResponse)
def alerts_page(request: Request, session: SessionDep) -> HTMLResponse:
    """A summary per scenario, then every alert, deepest first, a page of 50 at a time."""
    items, problems = alerts.alerts(session)
    text = request.query_params.get("offset", "0")
    offset = min(int(text), max(len(items) - 1, 0)) if text.isdigit() and len(text) < 10 else 0
    by_scenario: dict[int, dict[str, Any]] = {}
    for item in items:
        entry = by_scenario.setdefault(
            item.scenario_id,
            {
                "id": item.scenario_id,
                "name": item.scenario_name,
                "floor": item.our_floor_usd_per_million,
                "count": 0,
                "deepest": item,
            },
        )
        entry["count"] += 1
    return render(
        request,
        "alerts.html",
        {
            "items": items[offset : offset + ALERTS_PAGE_SIZE],
            "total": len(items),
            "offset": offset,
            "page_size": ALERTS_PAGE_SIZE,
            "scenarios": list(by_scenario.values()),
            "problems": problems,
            "active_nav": "market",
        },
    )


@router.get("/market", response_class=HTMLResponse)
def market_page(request: Request, session: SessionDep) -> HTMLResponse:
    return _market(request, session)


def _market(
    request: Request,
    session: SessionDep,
    *,
    report: Any = None,
    report_kind: str = "",
    errors: FormErrors | None = None,
    form: dict[str, str] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    prices, trends = quality_prices.trends(session)
    window_start, window_end = quality_prices.LLMFLATION_WINDOW
    _, window = quality_prices.trends(session, (42.0,), window_start, window_end)
    items, _problems = alerts.alerts(session)
    charts = [price_capability_chart(prices), equal_capability_chart(trends)]
    return render(
        request,
        "market.html",
        {
            "charts": charts,
            "trends": trends,
            "window": window[0],
            "alert_count": len(items),
            "report": report,
            "report_kind": report_kind,
            "errors": errors or FormErrors(),
            "form": form or {},
            "active_nav": "market",
        },
        status_code,
    )


@dataclass(frozen=True)
class PriceFileUpload:
    values: dict[str, str]
    content: bytes


async def _price_file(request: Request) -> PriceFileUpload:
    """The import form: its text fields and the uploaded file (read on the loop; no database here)."""
    form = await request.form(max_files=1, max_fields=20)
    values = {key: value for key, value in form.items() if isinstance(value, str)}
    upload = form.get("file")
    content = b""
    if upload is not None and not isinstance(upload, str):
        content = await upload.read()
    return PriceFileUpload(values, content)


@router.post("/market/import", response_class=HTMLResponse, dependencies=[require_role("editor")])
def import_price_file(
    request: Request,
    session: SessionDep,
    upload: Annotated[PriceFileUpload, Depends(_price_file)],
    work: HeavyWork,
) -> Response:
    """Preview (dry run) or import a LiteLLM price table or a SkyPilot vms.csv, all or nothing."""
    values = upload.values
    errors = FormErrors()
    source = values.get("source", "")
    if source not in ("litellm", "skypilot"):
        errors["source"] = "Choose LiteLLM or SkyPilot."
    effective_from = parse_date(values, "effective_from", errors) if values.get("effective_from") else None
    provider = (values.get("provider") or "").strip()
    if source == "skypilot" and not provider:
        errors["provider"] = "A SkyPilot catalog needs its cloud (aws, gcp, azure, …)."
    if not upload.content.strip():
        errors["file"] = "Choose a file."
    try:
        text = upload.content.decode("utf-8-sig")
    except UnicodeDecodeError:
        errors["file"] = "The file is not UTF-8 text."
        text = ""
    if errors:
        return _market(request, session, errors=errors, form=values, status_code=422)
    dry_run = values.get("action") != "import"
    day = effective_from or date.today()
    try:
        if source == "litellm":
            try:
                document = json.loads(text)
            except json.JSONDecodeError as exc:
                errors["file"] = f"Not JSON: {exc.msg} at line {exc.lineno}."
                return _market(request, session, errors=errors, form=values, status_code=422)
            report: Any = litellm_import.import_prices(session, document, day, dry_run=dry_run)
        else:
            report = skypilot_import.import_catalog(session, text, provider, day, dry_run=dry_run)
    except ServiceError as exc:
        errors["file"] = exc.message
        failed = getattr(exc, "report", None)
        return _market(
            request, session, errors=errors, form=values, report=failed, report_kind=source, status_code=422
        )
    if dry_run:
        return _market(request, session, report=report, report_kind=source, form=values)
    session.flush()
    return see_other("/market", imported=f"{report.added} added, {report.changed} changed")


@router.get("/hardware/ownership", response_class=HTMLResponse)
def ownership_page(request: Request, session: SessionDep) -> HTMLResponse:
    """Owning versus renting: the form, and with an accelerator chosen the owned cost, the break-even
    utilisation and the crossover chart. The form is checked with the API's own schema."""
    params = dict(request.query_params)
    accelerators = list(session.scalars(select(Accelerator).order_by(Accelerator.name)))
    errors = FormErrors()
    result = None
    chart = None
    if params.get("accelerator_id"):
        data = _ownership_data(params, errors)
        body = validate_with(OwnershipRequestBody, data, errors) if not errors else None
        if body is not None:
            try:
                result = ownership.estimate(
                    session,
                    ownership.OwnershipRequest(**body.model_dump()),  # type: ignore[arg-type]
                )
            except ServiceError as exc:
                errors[exc.field or "accelerator_id"] = exc.message
            else:
                chart = crossover_chart(result)
    return render(
        request,
        "ownership.html",
        {
            "accelerators": accelerators,
            "pricing_models": PRICING_MODELS,
            "form": {**OWNERSHIP_DEFAULTS, **params},
            "errors": errors,
            "result": result,
            "crossover": chart,
            "active_nav": "hardware",
        },
        422 if errors else 200,
    )


OWNERSHIP_DEFAULTS = {
    "gpu_count": "8",
    "purchase_usd_per_gpu": "30000",
    "depreciation_years": "4",
    "power_usd_per_kwh": "0.10",
    "pue": "1.3",
    "utilization": "0.6",
    "rental_pricing_model": "on_demand",
}
_NUMBERS = (
    "purchase_usd_per_gpu",
    "depreciation_years",
    "power_usd_per_kwh",
    "pue",
    "utilization",
    "server_overhead_fraction",
    "colocation_usd_per_kw_month",
    "staff_usd_per_year",
    "financing_rate_fraction",
    "board_power_w",
)


def _ownership_data(params: dict[str, str], errors: FormErrors) -> dict[str, Any]:
    """Form text → typed values for the API schema; a word where a number belongs names the field."""
    data: dict[str, Any] = {"rental_pricing_model": params.get("rental_pricing_model") or "on_demand"}
    for name in ("accelerator_id", "gpu_count"):
        text = (params.get(name) or "").strip()
        if not text.isdigit():
            errors[name] = f"“{text}” is not a whole number." if text else "Needs a value."
        else:
            data[name] = int(text)
    for name in _NUMBERS:
        text = (params.get(name) or "").strip().replace(",", "")
        if not text:
            continue  # optional ones take their documented defaults
        percent = text.endswith("%")
        try:
            number = float(text.rstrip("%").strip())
        except ValueError:
            errors[name] = f"“{text}” is not a number."
            continue
        data[name] = number / 100 if percent else number
    return data


def crossover_chart(result: dict[str, Any]) -> Chart:
    curve = result["curve"]
    rental = result["rental"]
    x = [point["utilization"] for point in curve]
    data: list[dict[str, Any]] = [
        {
            "type": "scatter",
            "mode": "lines",
            "name": "Owned, $ per used GPU-hour",
            "x": x,
            "y": [point["owned_usd_per_gpu_hour"] for point in curve],
            "line": {"color": color(0), "width": 2},
            "hovertemplate": "%{x:.0%} busy: %{y:$.3f} per used GPU-hour<extra></extra>",
        }
    ]
    if rental is not None:
        data.append(
            {
                "type": "scatter",
                "mode": "lines",
                "name": f"Rented ({rental['pricing_model'].replace('_', ' ')})",
                "x": [x[0], x[-1]],
                "y": [rental["usd_per_gpu_hour"]] * 2,
                "line": {"color": color(3), "width": 2, "dash": "dash"},
                "hovertemplate": "%{y:$.3f} per GPU-hour<extra></extra>",
            }
        )
    be = rental["break_even_utilization"] if rental else None
    if rental is None:
        summary = "No comparable rental offer is on the sheet: the owned cost alone."
    elif be is None:
        summary = (
            f"Renting at {usd(rental['usd_per_gpu_hour'])} per GPU-hour is cheaper than owning at any "
            "utilisation."
        )
    else:
        summary = (
            f"Owning beats renting at {usd(rental['usd_per_gpu_hour'])} per GPU-hour once the GPUs are busy "
            f"more than {be:.0%} of the time."
        )
    fig = figure(
        data,
        layout(
            axis("Utilisation (busy share of the hours)", percent=True, range=[0, 1.02]),
            axis("$ per used GPU-hour (log)", type="log", tickprefix="$"),
        ),
    )
    tbl = table(
        ("Utilisation", "Owned $ / used GPU-hour"),
        [(f"{p['utilization']:.0%}", usd(p["owned_usd_per_gpu_hour"])) for p in curve],
    )
    return Chart("ownership-crossover", "Owning versus renting by utilisation", summary, fig, tbl)
