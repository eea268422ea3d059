"""Background jobs over REST: submit a long run (202), follow its progress, cancel it, list them.

`params` is the body of the synchronous endpoint of the same kind, validated by the same model before the
job is queued (a bad body is a 422 naming `params.<field>`, never a failed job later):

| kind         | synchronous twin                    | role   |
|--------------|-------------------------------------|--------|
| `simulation` | `POST /api/v1/simulations`          | editor |
| `tornado`    | `POST /api/v1/simulations/tornado`  | viewer |
| `sweep`      | `POST /api/v1/estimates/sweep`      | viewer |
| `import`     | `POST /api/v1/price-quotes/import`  | editor (`{"csv": "...", "dry_run": true}`) |
| `report`     | `GET /runs/{id}/report.pdf`         | viewer (`{"run_id": 7, "format": "pdf"}`) |

A report job's document is served by `GET /api/v1/jobs/{id}/output` once it has succeeded.

Jobs belong to a signed-in user (session or API token); admins see and cancel everyone's.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Response, status
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, Field, ValidationError

from app.db.models import SimulationRun
from app.services import crud, simulations
from app.services import jobs as job_service
from app.services.jobs import records
from app.web.api.estimates import SweepRequest
from app.web.api.simulations import SimulationRequest
from app.web.auth import CurrentUser, NotSignedIn, Principal, check_role, require_role
from app.web.deps import SessionDep
from app.web.schemas import ErrorDetail, RowId, StrictModel

ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorDetail, "description": "Not signed in (jobs belong to a user)"},
    403: {"model": ErrorDetail, "description": "Role too low for this kind of job"},
    404: {"model": ErrorDetail, "description": "No such job (or not yours)"},
    409: {"model": ErrorDetail, "description": "The job has already finished"},
    422: {"model": ErrorDetail, "description": "Invalid kind or params; `loc` names the field"},
    429: {"model": ErrorDetail, "description": "Too many of your jobs queued or running"},
}
router = APIRouter(prefix="/jobs", tags=["jobs"], responses=ERRORS, dependencies=[require_role("viewer")])

Kind = Literal["simulation", "tornado", "sweep", "import", "report"]
ROLE_OF_KIND = {
    "simulation": "editor",
    "tornado": "viewer",
    "sweep": "viewer",
    "import": "editor",
    "report": "viewer",
}


class ReportParams(StrictModel):
    """The board pack of a stored run, as GET /runs/{id}/report.html or .pdf."""

    run_id: RowId
    format: Literal["pdf", "html"] = "pdf"
    currency: Annotated[str, Field(min_length=3, max_length=3, pattern="^[A-Z]{3}$")] = "USD"
    strategy: Annotated[str, Field(min_length=1, max_length=120)] | None = None


class ImportParams(StrictModel):
    csv: Annotated[str, Field(min_length=1, description="The price-quote CSV, as POST /price-quotes/import")]
    dry_run: bool = True


PARAMS_MODEL: dict[str, type[BaseModel]] = {
    "simulation": SimulationRequest,
    "tornado": SimulationRequest,
    "sweep": SweepRequest,
    "import": ImportParams,
    "report": ReportParams,
}


class JobRequest(StrictModel):
    kind: Kind
    params: dict[str, Any] = Field(description="The body of the synchronous endpoint of this kind")


class JobRead(BaseModel):
    id: int
    kind: str
    status: Literal["queued", "running", "succeeded", "failed", "cancelled"]
    progress_fraction: float = Field(description="0-1, updated per chunk of paths / tornado run")
    created_at: str
    started_at: str | None
    finished_at: str | None
    error: str | None = Field(description="Why it failed or who cancelled it (never a traceback)")
    run_id: int | None = Field(description="A simulation's stored run: GET /api/v1/simulations/{run_id}")
    owner: str
    attempts: int
    chunks_total: int
    chunks_done: int
    title: str
    result: dict[str, Any] | None = Field(
        default=None, description="A tornado's, sweep's or import's result (GET /jobs/{id} only)"
    )


class JobList(BaseModel):
    total: int
    limit: int
    offset: int
    items: list[JobRead]


def owner_of(principal: Principal | None) -> records.Owner:
    if principal is None:
        raise NotSignedIn("background jobs belong to a user: sign in, or send an API token")
    return records.Owner(principal.user_id, principal.username, principal.has("admin"))


def validate_params(kind: str, params: dict[str, Any]) -> dict[str, Any]:
    """The synchronous endpoint's own model; errors located under `params`."""
    try:
        parsed = PARAMS_MODEL[kind].model_validate(params)
    except ValidationError as exc:
        raise RequestValidationError(
            [{**e, "loc": ("body", "params", *e["loc"])} for e in exc.errors(include_url=False)]
        ) from exc
    dumped = parsed.model_dump(exclude_none=True)
    if kind == "tornado" and "tornado" not in dumped:
        dumped["tornado"] = {}
    return dumped


@router.post(
    "",
    response_model=JobRead,
    status_code=status.HTTP_202_ACCEPTED,
    summary="Queue a long run (simulation, tornado, sweep or import)",
)
def submit(body: JobRequest, session: SessionDep, principal: CurrentUser) -> dict[str, Any]:
    owner = owner_of(principal)
    params = validate_params(body.kind, body.params)
    check_role(principal, ROLE_OF_KIND[body.kind])
    if body.kind in ("simulation", "tornado"):
        simulations.resolve(session, params)  # unknown scenario/model ids and bad inputs: 404/422 now
    elif body.kind == "report":
        crud.get_row(session, SimulationRun, params["run_id"])  # an unknown run: 404 now
    runtime = job_service.get_runtime()
    job = records.submit(session, owner, body.kind, params, runtime.settings.jobs_max_active_per_user)
    view = records.view(job)
    session.commit()  # the row exists before any worker can look for it
    runtime.enqueue(job.id)
    return view


@router.get("", response_model=JobList, summary="Your jobs, newest first (admins: everyone's)")
def list_jobs(
    session: SessionDep,
    principal: CurrentUser,
    status_: Annotated[
        Literal["queued", "running", "succeeded", "failed", "cancelled"] | None, Query(alias="status")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> dict[str, Any]:
    return records.list_jobs(session, owner_of(principal), status=status_, limit=limit, offset=offset)


@router.get("/{job_id}", response_model=JobRead, summary="A job: status, progress, error, run_id, result")
def read(job_id: RowId, session: SessionDep, principal: CurrentUser) -> dict[str, Any]:
    return records.get(session, job_id, owner_of(principal))


@router.get(
    "/{job_id}/output",
    summary="A finished report job's document (PDF or HTML, as an attachment)",
    responses={200: {"content": {"application/pdf": {}, "text/html": {}}}},
)
def output(job_id: RowId, session: SessionDep, principal: CurrentUser) -> Response:
    data, media_type, filename = records.output(session, job_id, owner_of(principal))
    return Response(
        data, media_type=media_type, headers={"Content-Disposition": f'attachment; filename="{filename}"'}
    )


@router.post("/{job_id}/cancel", response_model=JobRead, summary="Cancel a queued or running job")
def cancel(job_id: RowId, session: SessionDep, principal: CurrentUser) -> dict[str, Any]:
    return records.cancel(session, job_id, owner_of(principal))
