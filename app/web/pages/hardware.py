"""Hardware: the price sheet as of a date, filterable and sortable, with derived unit metrics, the price
history of one offer, and the editor's forms (change a price, import a CSV)."""

from __future__ import annotations

from datetime import date
from typing import Any
from urllib.parse import urlencode

import numpy as np
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from app.db.models import PRICING_MODELS, Accelerator, ModelConfig, PriceQuote
from app.engine.sweep import sweep_serving
from app.services import crud, price_sheet, quote_import
from app.services.errors import ConflictError, ServiceError
from app.web.charts.hardware import (
    METRIC_PRECISIONS,
    PRECISION_LABELS,
    PRICING_LABELS,
    OfferMetrics,
    offer_metrics,
    pflop_hour_chart,
    price_history_chart,
)
from app.web.deps import SessionDep
from app.web.pages.engine_inputs import accelerator_spec, model_spec
from app.web.pages.forms import FormErrors, form_values, parse_date, parse_float, see_other
from app.web.pages.render import render

router = APIRouter()

def _pflop_key(precision: str) -> Any:
    """Sort by $/PFLOP-hour at `precision`; offers without that precision go last."""

    def key(o: OfferMetrics) -> tuple[bool, float]:
        value = o.usd_per_pflop_hour[precision]
        return value is None, value or 0.0

    return key


SORT_KEYS: dict[str, Any] = {
    "provider": lambda o: (o.provider, o.instance_type),
    "instance": lambda o: o.instance_type,
    "accelerator": lambda o: o.accelerator,
    "count": lambda o: o.accelerator_count,
    "pricing": lambda o: o.pricing_model,
    "usd_per_hour": lambda o: o.usd_per_hour,
    "usd_per_accelerator_hour": lambda o: o.usd_per_accelerator_hour,
    **{f"pflop_{p}": _pflop_key(p) for p in METRIC_PRECISIONS},
    "gb_hour": lambda o: (o.usd_per_gb_hour is None, o.usd_per_gb_hour or 0),
    "effective_from": lambda o: o.effective_from,
}


def _sheet(
    session: Session, as_of: date, provider: str, accelerator: str, pricing: str
) -> list[OfferMetrics]:
    query = (
        select(PriceQuote).options(selectinload(PriceQuote.accelerator)).where(price_sheet.in_effect(as_of))
    )
    if provider:
        query = query.where(PriceQuote.provider == provider)
    if pricing:
        query = query.where(PriceQuote.pricing_model == pricing)
    if accelerator:
        query = query.join(Accelerator).where(Accelerator.name == accelerator)
    return [offer_metrics(q, q.accelerator) for q in session.scalars(query)]


REFERENCE_MODEL = "Llama 3.1 8B"
REFERENCE_BATCHES = (1, 2, 4, 8, 16, 32, 64, 128, 256)


def reference_throughput(session: Session) -> dict[str, float]:
    """Output tokens/s per GPU for the reference model in 16-bit on each accelerator (one GPU per replica,
    largest batch meeting 50 ms per token and 2 s to first token), from the engine's serving sweep."""
    row = session.scalars(select(ModelConfig).where(ModelConfig.name == REFERENCE_MODEL)).first()
    accelerators = list(session.scalars(select(Accelerator)))
    if row is None or not accelerators:
        return {}
    specs = [accelerator_spec(a) for a in accelerators]
    table = sweep_serving(
        model_spec(row), specs, [("bf16", "bf16", "bf16"), ("fp16", "fp16", "fp16")], (1,), REFERENCE_BATCHES,
        np.ones(len(specs)), time_to_first_token_target_s=2.0, time_per_output_token_target_s=0.05,
        utilization_fraction=1.0,
    )
    best: dict[str, float] = {}
    names, tps = table.columns["accelerator"], table.columns["output_tokens_per_second_per_gpu"]
    for name, value in zip(names, tps, strict=True):
        best[str(name)] = max(best.get(str(name), 0.0), float(value))
    return best


def _offer_history(session: Session, quote: PriceQuote) -> list[OfferMetrics]:
    rows = session.scalars(
        select(PriceQuote)
        .options(selectinload(PriceQuote.accelerator))
        .where(
            PriceQuote.provider == quote.provider,
            PriceQuote.instance_type == quote.instance_type,
            PriceQuote.region == quote.region,
            PriceQuote.pricing_model == quote.pricing_model,
        )
        .order_by(PriceQuote.effective_from)
    )
    return [offer_metrics(q, q.accelerator) for q in rows]


def _options(session: Session) -> dict[str, list[str]]:
    return {
        "providers": list(
            session.scalars(select(PriceQuote.provider).distinct().order_by(PriceQuote.provider))
        ),
        "accelerators": list(session.scalars(select(Accelerator.name).order_by(Accelerator.name))),
        "pricing_models": list(PRICING_MODELS),
    }


def _page(
    request: Request,
    session: Session,
    *,
    errors: FormErrors | None = None,
    form: dict[str, str] | None = None,
    import_report: Any = None,
    import_text: str = "",
    status_code: int = 200,
    offer_id: int | None = None,
) -> HTMLResponse:
    params = dict(request.query_params)
    if offer_id is not None:
        params["offer"] = str(offer_id)
    query_errors = FormErrors()
    as_of = parse_date(params, "as_of", query_errors, required=False) or date.today()
    provider = params.get("provider", "")
    accelerator = params.get("accelerator", "")
    pricing = params.get("pricing_model", "")
    precision = params.get("precision", "bf16")
    if precision not in METRIC_PRECISIONS:
        precision = "bf16"
    sort = params.get("sort", "pflop_bf16")
    if sort not in SORT_KEYS and sort != "tokens_per_usd":
        sort = "pflop_bf16"
    descending = params.get("dir") == "desc"
    offers = _sheet(session, as_of, provider, accelerator, pricing)
    throughput = reference_throughput(session)
    tokens_per_usd = {
        o.quote_id: throughput[o.accelerator] / o.usd_per_accelerator_hour
        for o in offers
        if o.accelerator in throughput
    }
    if sort == "tokens_per_usd":
        offers.sort(key=lambda o: (o.quote_id not in tokens_per_usd, -tokens_per_usd.get(o.quote_id, 0.0)))
        if descending:
            offers.reverse()
    else:
        offers.sort(key=SORT_KEYS[sort], reverse=descending)

    selected: PriceQuote | None = None
    history_chart = None
    offer_param = params.get("offer", "")
    if offer_param.isdigit():
        selected = session.get(PriceQuote, int(offer_param))
        if selected is not None:
            history_chart = price_history_chart(_offer_history(session, selected), as_of)

    filters = {
        "as_of": params.get("as_of", ""),
        "provider": provider,
        "accelerator": accelerator,
        "pricing_model": pricing,
        "precision": precision if precision != "bf16" else "",
    }

    def sort_url(key: str) -> str:
        direction = "desc" if key == sort and not descending else ""
        query = {k: v for k, v in {**filters, "sort": key, "dir": direction}.items() if v}
        return "/hardware?" + urlencode(query)

    def offer_url(quote_id: int) -> str:
        query = {
            k: v
            for k, v in {
                **filters,
                "sort": params.get("sort", ""),
                "dir": params.get("dir", ""),
                "offer": str(quote_id),
            }.items()
            if v
        }
        return "/hardware?" + urlencode(query) + "#history"

    cheapest = min(
        (o for o in offers if o.usd_per_pflop_hour.get(precision)),
        key=lambda o: o.usd_per_pflop_hour[precision] or 0,
        default=None,
    )
    return render(
        request,
        "hardware.html",
        {
            "active_nav": "hardware",
            "offers": offers,
            "as_of": as_of,
            "filters": filters,
            "options": _options(session),
            "query_errors": query_errors,
            "sort": sort,
            "descending": descending,
            "sort_url": sort_url,
            "offer_url": offer_url,
            "precision": precision,
            "precisions": METRIC_PRECISIONS,
            "precision_labels": PRECISION_LABELS,
            "pricing_labels": PRICING_LABELS,
            "pflop_chart": pflop_hour_chart(offers, precision),
            "tokens_per_usd": tokens_per_usd,
            "reference_model": REFERENCE_MODEL,
            "cheapest": cheapest,
            "selected": selected,
            "history_chart": history_chart,
            "errors": errors or FormErrors(),
            "form": form or {},
            "saved": params.get("saved"),
            "import_report": import_report,
            "import_text": import_text,
            "imported": params.get("imported"),
        },
        status_code=status_code,
    )


@router.get("/hardware", response_class=HTMLResponse)
def hardware(request: Request, session: SessionDep) -> HTMLResponse:
    return _page(request, session)


@router.post("/hardware/quotes/{quote_id}/price", response_class=HTMLResponse)
async def change_price(quote_id: int, request: Request, session: SessionDep) -> Response:
    """An editor changes a price: the current row closes and a dated successor is added (as in the API)."""
    values = await form_values(request)
    quote = crud.get_row(session, PriceQuote, quote_id)
    errors = FormErrors()
    price = parse_float(values, "usd_per_hour", errors, low=0, strict_low=True)
    start = parse_date(values, "effective_from", errors)
    version_text = values.get("version", "")
    if not version_text.isdigit():
        errors["version"] = "The form is missing the row version; reload the page."
    if not errors:
        try:
            successor = price_sheet.change_quote(
                session, quote, {"usd_per_hour": price, "effective_from": start}, int(version_text)
            )
        except ServiceError as exc:
            if isinstance(exc, ConflictError) and exc.field == "version":  # stale: 409, yours vs current
                from app.web.pages.audit import quote_conflict_page

                mine = {
                    "usd_per_hour": values.get("usd_per_hour", ""),
                    "effective_from": values.get("effective_from", ""),
                }
                return quote_conflict_page(request, session, quote_id, mine)
            errors[exc.field or "usd_per_hour"] = exc.message
        else:
            session.flush()
            return (
                see_other("/hardware", offer=successor.id, saved="price")
                if successor
                else see_other("/hardware")
            )
    return _page(request, session, errors=errors, form=values, status_code=422, offer_id=quote_id)


@router.post("/hardware/import", response_class=HTMLResponse)
async def import_csv(request: Request, session: SessionDep) -> Response:
    """CSV import of quotes: "Preview" shows the diff (dry run); "Import" commits all or nothing, then 303."""
    form = await request.form()
    upload = form.get("file")
    text = str(form.get("csv_text") or "")
    if upload is not None and not isinstance(upload, str):
        raw = await upload.read()
        if raw:
            text = raw.decode("utf-8-sig", errors="replace")
    errors = FormErrors()
    if not text.strip():
        errors["csv_text"] = "Paste CSV rows or choose a file."
        return _page(request, session, errors=errors, import_text=text, status_code=422)
    dry_run = form.get("action") != "import"
    try:
        report = quote_import.import_quotes(session, text, dry_run=dry_run)
    except ServiceError as exc:
        errors["csv_text"] = exc.message
        report = getattr(exc, "report", None)
        return _page(request, session, errors=errors, import_text=text, import_report=report, status_code=422)
    if dry_run:
        return _page(request, session, import_report=report, import_text=text)
    session.flush()
    return see_other("/hardware", imported=f"{report.added} added, {report.changed} changed")
