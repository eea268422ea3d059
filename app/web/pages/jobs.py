"""Long runs from the pages, as background jobs: the explorer's "Run in background" and "Full tornado in
background" post here and get the job back as JSON; jobs.js draws a progress bar with a cancel button and
polls GET /api/v1/jobs/{id}. The jobs list on /runs is drawn by the same script from GET /api/v1/jobs.

The body each route submits goes through the API's own validation (app/web/api/jobs.py), so the pages and
the API queue exactly the same jobs.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, status
from fastapi.responses import JSONResponse
from sqlalchemy import select

from app.db.models import Accelerator, ModelConfig
from app.services import jobs as job_service
from app.services import simulations
from app.services.jobs import records
from app.web.api.jobs import ROLE_OF_KIND, owner_of, validate_params
from app.web.auth import CurrentUser, check_role, require_role
from app.web.deps import SessionDep
from app.web.pages import explorer
from app.web.pages import pricewar_inputs as pw
from app.web.pages.forms import form_values

router = APIRouter()
TORNADO_JOB_PATHS = 10_000  # a variant's paths: the live tornado uses 500, a job the most allowed


def submit_job(session: Any, principal: Any, kind: str, body: dict[str, Any]) -> JSONResponse:
    owner = owner_of(principal)
    params = validate_params(kind, body)
    check_role(principal, ROLE_OF_KIND[kind])
    simulations.resolve(session, params)
    runtime = job_service.get_runtime()
    job = records.submit(session, owner, kind, params, runtime.settings.jobs_max_active_per_user)
    view = records.view(job)
    session.commit()
    runtime.enqueue(job.id)
    return JSONResponse(view, status_code=status.HTTP_202_ACCEPTED)


def _explorer_body(session: Any, request_values: dict[str, str], params: dict[str, str]) -> tuple[Any, Any]:
    ctx = explorer.compute(session, params)
    if ctx["errors"] or ctx.get("scenario") is None:
        message = "; ".join(f"{k}: {v}" for k, v in dict(ctx["errors"]).items()) or "no scenario to run"
        return ctx, JSONResponse({"detail": message}, status_code=422)
    body: dict[str, Any] = {"inputs": pw.document(ctx["preset"], ctx["scenario"])}
    ids = explorer.linked_ids(ctx["base"])
    if ids["model_id"] is not None and ids["accelerator_id"] is not None:
        body.update(ids)
    return ctx, body


@router.post("/explorer/job", dependencies=[require_role("editor")])
def explorer_job(
    request: Request, session: SessionDep, posted: explorer.Posted, principal: CurrentUser
) -> JSONResponse:
    """The explorer's current view as a stored run, computed by a worker (progress bar, cancel)."""
    values, params = posted
    ctx, body = _explorer_body(session, values, params)
    if isinstance(body, JSONResponse):
        return body
    body["name"] = (values.get("name") or "").strip()[:160] or f"{ctx['base'].name} · {ctx['chosen']}"
    return submit_job(session, principal, "simulation", body)


@router.post("/explorer/tornado-job", dependencies=[require_role("viewer")])
def explorer_tornado_job(
    request: Request, session: SessionDep, posted: explorer.Posted, principal: CurrentUser
) -> JSONResponse:
    """The tornado of the chosen strategy on 10,000 paths a variant (the live one uses 500)."""
    values, params = posted
    ctx, body = _explorer_body(session, values, params)
    if isinstance(body, JSONResponse):
        return body
    scenario = ctx["scenario"]
    body["tornado"] = {
        "strategy": ctx["chosen"],
        "outcome": "cash_at_month",
        "outcome_month": min(24, scenario.horizon_months),
        "paths_count": TORNADO_JOB_PATHS,
    }
    return submit_job(session, principal, "tornado", body)


STRATEGY_JOB_PATHS = 100_000  # the lab's 16 strategies through the full price war: a job, not a preview


async def _form(request: Request) -> dict[str, str]:
    return await form_values(request)


@router.post("/strategy/job", dependencies=[require_role("editor")])
def strategy_job(
    session: SessionDep, principal: CurrentUser, values: Annotated[dict[str, str], Depends(_form)]
) -> JSONResponse:
    """The strategy lab's model and accelerator: the cost engine's 16 lever strategies through the default
    price-war scenario on 100,000 paths, stored as a run by a worker."""
    return _strategy_job(session, principal, values)


def _strategy_job(session: Any, principal: Any, values: dict[str, str]) -> JSONResponse:
    model = session.scalar(select(ModelConfig).where(ModelConfig.name == (values.get("model") or "")))
    accelerator = session.scalar(
        select(Accelerator).where(Accelerator.name == (values.get("accelerator") or ""))
    )
    if model is None or accelerator is None:
        return JSONResponse({"detail": "choose a stored model and accelerator first"}, status_code=422)
    base = explorer.pick_scenario(explorer.scenarios(session), None)
    if base is None:
        return JSONResponse({"detail": "no stored scenario to run the strategies in"}, status_code=422)
    body: dict[str, Any] = {
        "scenario_id": base.id,
        "model_id": model.id,
        "accelerator_id": accelerator.id,
        "paths_count": STRATEGY_JOB_PATHS,
        "name": f"Strategy lab: {model.name} on {accelerator.name} in {base.name}"[:160],
    }
    price = (values.get("price") or "").strip()
    if price:
        try:
            body["price_usd_per_gpu_hour"] = float(price)
        except ValueError:
            return JSONResponse({"detail": "price: not a number"}, status_code=422)
    return submit_job(session, principal, "simulation", body)
