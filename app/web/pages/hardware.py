"""Hardware: the price sheet as of a date, filterable and sortable, with derived unit metrics, the price
history of one offer, and the editor's forms (change a price, import a CSV)."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Annotated, Any
from urllib.parse import parse_qsl, urlencode

import numpy as np
from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response
from markupsafe import Markup
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from app.db.models import PRICING_MODELS, Accelerator, ModelConfig, PriceQuote
from app.engine.architecture import ModelSpec
from app.engine.hardware import AcceleratorSpec
from app.engine.sweep import sweep_serving
from app.services import crud, estimates, price_sheet, quote_import
from app.services.errors import ConflictError, ServiceError
from app.services.paging import MAX_PAGE
from app.web.charts.base import Chart
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
from app.web.heavy import HeavyWork
from app.web.pages import hardware_sheet
from app.web.pages.engine_inputs import model_spec
from app.web.pages.forms import FormErrors, FormValues, parse_date, parse_float, see_other, validate_with
from app.web.pages.page_cache import BoundedCache, database_of, stamp
from app.web.pages.render import chart_html, render, templates
from app.web.schemas import IdPath, PriceQuoteUpdate

router = APIRouter()


PAGE_SIZE = 50  # offers per page; sort, filters and the headline cards apply to the whole sheet (in SQL)

# What the unit metrics (offer_metrics) and the engine's spec (estimates.spec_of_row) read of an accelerator.
_ACCELERATOR_COLUMNS = (
    Accelerator.id,
    Accelerator.name,
    Accelerator.memory_gb,
    Accelerator.memory_bandwidth_tb_s,
    Accelerator.fp32_tflops,
    Accelerator.tf32_tflops,
    Accelerator.bf16_tflops,
    Accelerator.fp8_tflops,
    Accelerator.int8_tops,
    Accelerator.fp4_tflops,
    Accelerator.board_power_w,
    Accelerator.interconnect_bandwidth_gb_s,
    Accelerator.notes,
)


def _accelerators(session: Session) -> dict[int, Any]:
    """Every accelerator as a plain row (read-only, duck-typed like the ORM row), by id."""
    return {row.id: row for row in session.execute(select(*_ACCELERATOR_COLUMNS).order_by(Accelerator.id))}


def _page_number(text: str) -> int | None:
    return int(text) if text.isdigit() and 0 < int(text) < 1_000_000 else None


REFERENCE_MODEL = "Llama 3.1 8B"
REFERENCE_BATCHES = (1, 2, 4, 8, 16, 32, 64, 128, 256)


def reference_throughput(session: Session, accelerators: dict[int, Any] | None = None) -> dict[str, float]:
    """Output tokens/s per GPU for the reference model in 16-bit on each accelerator (one GPU per replica,
    largest batch meeting 50 ms per token and 2 s to first token), from the engine's serving sweep."""
    row = session.scalars(select(ModelConfig).where(ModelConfig.name == REFERENCE_MODEL)).first()
    rows = tuple((accelerators if accelerators is not None else _accelerators(session)).values())
    if row is None or not rows:
        return {}
    return dict(_reference_throughput(model_spec(row), _accelerator_specs(rows)))


@functools.lru_cache(maxsize=16)
def _accelerator_specs(rows: tuple[Any, ...]) -> tuple[AcceleratorSpec, ...]:
    """Specs of plain accelerator rows (tuples of values: an edited row is a new key)."""
    return tuple(estimates.spec_of_row(r) for r in rows)


@functools.lru_cache(maxsize=16)
def _reference_throughput(
    model: ModelSpec, specs: tuple[AcceleratorSpec, ...]
) -> tuple[tuple[str, float], ...]:
    """The serving sweep is a pure function of the specs (frozen dataclasses, compared by value): an edited
    model or accelerator is a new key, so a cached answer is never stale."""
    table = sweep_serving(
        model,
        list(specs),
        [("bf16", "bf16", "bf16"), ("fp16", "fp16", "fp16")],
        (1,),
        REFERENCE_BATCHES,
        np.ones(len(specs)),
        time_to_first_token_target_s=2.0,
        time_per_output_token_target_s=0.05,
        # Tokens/s per GPU do not depend on utilisation; the time to first token does (queueing at the
        # load), and a replica loaded to 100 % has an unbounded queue: the engine's default load.
        utilization_fraction=0.5,
    )
    best: dict[str, float] = {}
    names, tps = table.columns["accelerator"], table.columns["output_tokens_per_second_per_gpu"]
    for name, value in zip(names, tps, strict=True):
        best[str(name)] = max(best.get(str(name), 0.0), float(value))
    return tuple(best.items())


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


@dataclass(frozen=True)
class SheetView:
    """What the page shows of one filtered sheet, whatever the sort, page or chosen offer."""

    sheet: hardware_sheet.SheetFilter
    accelerators: dict[int, Any]
    total: int  # offers in effect on the filtered sheet, counted up to paging.COUNT_CAP
    total_is_exact: bool
    cheapest_per_accelerator: tuple[OfferMetrics, ...]  # per accelerator and pricing model (chart, cards)
    throughput: dict[str, float]
    options: dict[str, list[str]]
    pflop_chart: Chart
    pflop_chart_html: Markup


# Per worker: the filtered sheet's size, its cheapest offers, the reference throughput and the chart (all read
# in SQL, never the whole sheet: hardware_sheet), keyed by the filters, the precision, the date and the stamps
# of the tables they are read from (page_cache), so an edit of a price, an accelerator or the reference model
# is a new key and is shown on the next render.
_SHEET_VIEWS = BoundedCache(32)


def _sheet_view(
    session: Session, as_of: date, provider: str, accelerator: str, pricing: str, precision: str
) -> tuple[tuple[Any, ...], SheetView]:
    def compute() -> SheetView:
        accelerators = _accelerators(session)
        ids = tuple(a.id for a in accelerators.values() if a.name == accelerator) if accelerator else None
        sheet = hardware_sheet.SheetFilter(as_of, provider, ids, pricing)
        cheapest = hardware_sheet.cheapest_per_accelerator(session, accelerators, sheet, PRICING_MODELS)
        chart = pflop_hour_chart(cheapest, precision)
        return SheetView(
            sheet,
            accelerators,
            *hardware_sheet.count(session, sheet),
            tuple(cheapest),
            reference_throughput(session, accelerators),
            _options(session),
            chart,
            chart_html(chart),
        )

    key = (
        database_of(session),
        as_of,
        provider,
        accelerator,
        pricing,
        precision,
        *stamp(session, PriceQuote, Accelerator, ModelConfig),
    )
    return key, _SHEET_VIEWS.get_or_compute(key, compute)


# The rendered rows of one page of a sheet view (most of the page's render time), by everything they show,
# and the rows themselves (one page read in SQL per view, sort and page).
_ROWS_HTML = BoundedCache(64)
_PAGE_ROWS = BoundedCache(64)


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
    if sort not in hardware_sheet.SORTS:
        sort = "pflop_bf16"
    descending = params.get("dir") == "desc"
    view_key, view = _sheet_view(session, as_of, provider, accelerator, pricing, precision)
    offers = list(view.cheapest_per_accelerator)
    throughput = view.throughput

    def tokens_for(rows: list[OfferMetrics]) -> dict[int, float]:
        return {
            o.quote_id: throughput[o.accelerator] / o.usd_per_accelerator_hour
            for o in rows
            if o.accelerator in throughput
        }

    selected: PriceQuote | None = None
    history_chart = None
    offer_param = params.get("offer", "")
    if offer_param.isdigit():
        selected = session.get(PriceQuote, int(offer_param))
        if selected is not None:
            history_chart = price_history_chart(_offer_history(session, selected), as_of)

    # One page of the sorted, filtered sheet; without a page number, the page holding the chosen offer.
    # (SQL: the page's rows only, hardware_sheet)
    total = view.total
    page_count = max(1, -(-total // PAGE_SIZE)) if view.total_is_exact else MAX_PAGE
    page = _page_number(params.get("page", ""))
    if page is None and selected is not None:
        index = hardware_sheet.rank(
            session, view.accelerators, view.sheet, sort, descending, selected, throughput
        )
        page = index // PAGE_SIZE + 1 if index is not None else None
    page = min(page or 1, page_count)
    first = (page - 1) * PAGE_SIZE

    def page_rows() -> tuple[OfferMetrics, ...]:
        return tuple(
            hardware_sheet.page_rows(
                session, view.accelerators, view.sheet, sort, descending, first, PAGE_SIZE, throughput
            )
        )

    shown = list(_PAGE_ROWS.get_or_compute((view_key, sort, descending, page), page_rows))

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

    def view_query(**extra: str) -> str:
        state = {**filters, "sort": params.get("sort", ""), "dir": params.get("dir", ""), **extra}
        return urlencode({k: v for k, v in state.items() if v})

    page_str = str(page) if page > 1 else ""

    offer_prefix = "/hardware?" + view_query(page=page_str)
    offer_prefix += "&offer=" if offer_prefix[-1] != "?" else "offer="

    def offer_url(quote_id: int) -> str:  # one per row: the view's query is encoded once
        return f"{offer_prefix}{quote_id}#history"

    def rows_html() -> Markup:
        return Markup(
            templates.get_template("_partials/hardware_rows.html").render(
                offers=shown,
                selected=selected,
                offer_url=offer_url,
                pricing_labels=PRICING_LABELS,
                precisions=METRIC_PRECISIONS,
                tokens_per_usd=tokens_for(shown),  # the derived column, for the rows on this page only
                as_of=as_of,
            )
        )

    rows_key = (view_key, sort, descending, page, selected.id if selected else None, offer_prefix)
    offer_rows = _ROWS_HTML.get_or_compute(rows_key, rows_html)

    def page_url(number: int) -> str:
        return "/hardware?" + view_query(page=str(number) if number > 1 else "", offer=offer_param) + "#sheet"

    pager = {
        "page": page,
        "page_count": page_count,
        "first_row": first + 1 if shown else 0,
        "last_row": first + len(shown),
        "total": total,
        "total_label": str(total) if view.total_is_exact else f"more than {total:,}",
        "total_is_exact": view.total_is_exact,
        "prev_url": page_url(page - 1) if page > 1 else None,
        "next_url": page_url(page + 1)
        if page < page_count and (view.total_is_exact or len(shown) == PAGE_SIZE)
        else None,
    }

    cheapest = min(
        (o for o in offers if o.usd_per_pflop_hour.get(precision) and o.is_whole_offer),
        key=lambda o: o.usd_per_pflop_hour[precision] or 0,
        default=None,
    )
    cheapest_gb = min(
        (o for o in offers if o.usd_per_gb_hour and o.is_whole_offer),
        key=lambda o: o.usd_per_gb_hour or 0,
        default=None,
    )
    return render(
        request,
        "hardware.html",
        {
            "active_nav": "hardware",
            "offers": shown,
            "pager": pager,
            "as_of": as_of,
            "filters": filters,
            "options": view.options,
            "query_errors": query_errors,
            "sort": sort,
            "descending": descending,
            "sort_url": sort_url,
            "offer_url": offer_url,
            "precision": precision,
            "precisions": METRIC_PRECISIONS,
            "precision_labels": PRECISION_LABELS,
            "pricing_labels": PRICING_LABELS,
            "pflop_chart": view.pflop_chart,
            "pflop_chart_html": view.pflop_chart_html,
            "offer_rows": offer_rows,
            "reference_model": REFERENCE_MODEL,
            "cheapest": cheapest,
            "cheapest_gb": cheapest_gb,
            "selected": selected,
            "history_chart": history_chart,
            "errors": errors or FormErrors(),
            "form": form or {},
            "saved": params.get("saved"),
            "view_query": view_query(),
            "default_start": default_start(selected).isoformat() if selected else "",
            "import_report": import_report,
            "import_text": import_text,
            "imported": params.get("imported"),
            **_measurements(session),
        },
        status_code=status_code,
    )


def _measurements(session: Session) -> dict[str, Any]:
    """The user's throughput measurements (newest 50) and the per-accelerator factors fitted on them."""
    from app.services import measurements

    items = measurements.listing(session, limit=50)
    return {"measurements": items, "measurement_fits": measurements.fit(items), "measurements_where": ""}


def default_start(quote: PriceQuote) -> date:
    """The date a new price of `quote` starts unless the editor picks another: today, or the day after the
    current price started if that is today or later (a new price must start after the current one)."""
    return max(date.today(), quote.effective_from + timedelta(days=1))


VIEW_KEYS = ("as_of", "provider", "accelerator", "pricing_model", "precision", "sort", "dir", "page")


def view_params(text: str) -> dict[str, str]:
    """The sheet's filters carried through a form post (so saving keeps the user's view): known keys only."""
    return {k: v for k, v in parse_qsl(text or "") if k in VIEW_KEYS and v and len(v) <= 200}


@router.get("/hardware", response_class=HTMLResponse)
def hardware(request: Request, session: SessionDep) -> HTMLResponse:
    return _page(request, session)


@router.post("/hardware/quotes/{quote_id}/price", response_class=HTMLResponse)
def change_price(quote_id: IdPath, request: Request, session: SessionDep, values: FormValues) -> Response:
    """An editor changes a price: the current row closes and a dated successor is added (as in the API)."""
    quote = crud.get_row(session, PriceQuote, quote_id)
    errors = FormErrors()
    price = parse_float(values, "usd_per_hour", errors, low=0, strict_low=True)
    start = parse_date(values, "effective_from", errors)
    version_text = values.get("version", "")
    if not version_text.isdigit():
        errors["version"] = "The form is missing the row version; reload the page."
    if not errors:  # the API's PATCH schema: the same bounds as PATCH /api/v1/price-quotes/{id}
        validate_with(
            PriceQuoteUpdate,
            {"usd_per_hour": price, "effective_from": start, "version": int(version_text)},
            errors,
        )
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
            view = view_params(values.get("view", ""))
            view.pop("page", None)  # the successor's page is found from its id
            return (
                see_other("/hardware", **view, offer=successor.id, saved="price")
                if successor
                else see_other("/hardware", **view)
            )
    return _page(request, session, errors=errors, form=values, status_code=422, offer_id=quote_id)


async def _import_upload(request: Request) -> tuple[str, str]:
    """(CSV text, action) of the import form: the body is read on the loop, the database work happens in the
    plain `def` handler."""
    form = await request.form()
    upload = form.get("file")
    text = str(form.get("csv_text") or "")
    if upload is not None and not isinstance(upload, str):
        raw = await upload.read()
        if raw:
            text = raw.decode("utf-8-sig", errors="replace")
    return text, str(form.get("action") or "")


ImportUpload = Annotated[tuple[str, str], Depends(_import_upload)]


@router.post("/hardware/import", response_class=HTMLResponse)
def import_csv(request: Request, session: SessionDep, upload: ImportUpload, work: HeavyWork) -> Response:
    """CSV import of quotes: "Preview" shows the diff (dry run); "Import" commits all or nothing, then 303."""
    text, action = upload
    errors = FormErrors()
    if not text.strip():
        errors["csv_text"] = "Paste CSV rows or choose a file."
        return _page(request, session, errors=errors, import_text=text, status_code=422)
    dry_run = action != "import"
    try:
        report = quote_import.import_quotes(session, text, dry_run=dry_run)
    except ServiceError as exc:
        errors["csv_text"] = exc.message
        failed: quote_import.ImportReport | None = getattr(exc, "report", None)
        return _page(request, session, errors=errors, import_text=text, import_report=failed, status_code=422)
    if dry_run:
        return _page(request, session, import_report=report, import_text=text)
    session.flush()
    return see_other("/hardware", imported=f"{report.added} added, {report.changed} changed")
