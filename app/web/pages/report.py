"""The board pack of a stored run: GET /runs/{id}/report.html (self-contained, opens offline) and
/runs/{id}/report.pdf, in the display currency (?currency=EUR) and for one strategy (?strategy=…)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from app.services import reports
from app.web.deps import SessionDep
from app.web.schemas import IdPath

router = APIRouter()


def _options(request: Request) -> tuple[str, str | None]:
    return request.query_params.get("currency", "USD"), request.query_params.get("strategy")


@router.get("/runs/{run_id}/report.html", response_class=HTMLResponse)
def report_html(run_id: IdPath, request: Request, session: SessionDep) -> HTMLResponse:
    currency, strategy = _options(request)
    html = reports.render_run_report_html(session, run_id, currency, strategy)
    return HTMLResponse(
        html, headers={"Content-Disposition": f'inline; filename="run-{run_id}-board-pack.html"'}
    )


@router.get("/runs/{run_id}/report.pdf")
def report_pdf(run_id: IdPath, request: Request, session: SessionDep) -> Response:
    currency, strategy = _options(request)
    pdf = reports.render_run_report_pdf(session, run_id, currency, strategy)
    return Response(
        pdf,
        media_type="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="run-{run_id}-board-pack.pdf"'},
    )
