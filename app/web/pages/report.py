"""The board pack of a stored run: GET /runs/{id}/report.html (self-contained, opens offline) and
/runs/{id}/report.pdf, in the display currency (?currency=EUR) and for one strategy (?strategy=…); and the
same pack for the explorer's current view, not stored: GET /explorer/report.html and .pdf with the
explorer's query (as its parameters, or as one `query` parameter: the page's live form)."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from app.services import reports
from app.services.errors import ValidationFailed
from app.web.deps import SessionDep
from app.web.heavy import HeavyWork
from app.web.pages import pricewar_inputs as pw
from app.web.pages.explorer import compute, linked_ids
from app.web.schemas import IdPath

router = APIRouter()


def _options(request: Request) -> tuple[str, str | None]:
    return request.query_params.get("currency", "USD"), request.query_params.get("strategy")


@router.get("/runs/{run_id}/report.html", response_class=HTMLResponse)
def report_html(run_id: IdPath, request: Request, session: SessionDep, work: HeavyWork) -> HTMLResponse:
    currency, strategy = _options(request)
    html = reports.render_run_report_html(session, run_id, currency, strategy)
    return HTMLResponse(
        html, headers={"Content-Disposition": f'inline; filename="run-{run_id}-board-pack.html"'}
    )


@router.get("/runs/{run_id}/report.pdf")
def report_pdf(run_id: IdPath, request: Request, session: SessionDep, work: HeavyWork) -> Response:
    currency, strategy = _options(request)
    pdf = reports.render_run_report_pdf(session, run_id, currency, strategy)
    return Response(
        pdf,
        media_type="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="run-{run_id}-board-pack.pdf"'},
    )


def _explorer_view(request: Request, session: SessionDep) -> tuple[dict[str, Any], str, str | None, str]:
    """(the preview request of the explorer's current inputs, the currency, the strategy, a title), validated
    exactly as the explorer validates them (a bad input is a 422 naming it)."""
    query = request.query_params
    params = dict(parse_qsl(query["query"])) if "query" in query else dict(query)
    currency = query.get("currency") or params.pop("currency", "USD")
    params.pop("currency", None)
    ctx = compute(session, params)
    if ctx["errors"] or ctx.get("scenario") is None:
        field, message = next(iter(ctx["errors"].items()), ("scenario", "no scenario to report on"))
        raise ValidationFailed(f"{field}: {message}", field=field)
    preview: dict[str, Any] = {
        "inputs": pw.document(ctx["preset"], ctx["scenario"]),
        "paths_count": ctx["paths"],  # the explorer's own preview: the numbers on its screen
    }
    ids = linked_ids(ctx["base"])
    if ids["model_id"] is not None and ids["accelerator_id"] is not None:
        preview.update(ids)
    return preview, currency, ctx["chosen"], f"{ctx['base'].name} · explorer view"


@router.get("/explorer/report.html", response_class=HTMLResponse)
def explorer_report_html(request: Request, session: SessionDep, work: HeavyWork) -> HTMLResponse:
    """The board pack of the explorer's current inputs (a preview, not stored), self-contained."""
    preview, currency, strategy, title = _explorer_view(request, session)
    html = reports.render_preview_report_html(session, preview, currency, strategy, title=title)
    return HTMLResponse(html, headers={"Content-Disposition": 'inline; filename="explorer-board-pack.html"'})


@router.get("/explorer/report.pdf")
def explorer_report_pdf(request: Request, session: SessionDep, work: HeavyWork) -> Response:
    """The same pack as a PDF."""
    preview, currency, strategy, title = _explorer_view(request, session)
    pdf = reports.render_preview_report_pdf(session, preview, currency, strategy, title=title)
    return Response(
        pdf,
        media_type="application/pdf",
        headers={"Content-Disposition": 'attachment; filename="explorer-board-pack.pdf"'},
    )
