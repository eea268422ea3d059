"""CRUD routers for the stored resources, built from one description per resource.

Every resource gets the same five routes with the same rules (pagination with a total, CSV export, strict
bodies, 404 for unknown ids, 409 for name clashes, stale versions and deletes of referenced rows), so the
rules live here once rather than five times.
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import APIRouter, Header, Path, Query, Response, status
from pydantic import BaseModel
from sqlalchemy import ColumnElement
from sqlalchemy.orm import Session

from app.db.base import Base
from app.services import crud
from app.web.api.listing import ListQuery, csv_response
from app.web.auth import require_role
from app.web.deps import SessionDep
from app.web.etags import check_if_match, set_etag
from app.web.schemas import MAX_ID, ErrorDetail, Page

ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorDetail, "description": "Not signed in (no anonymous reading, or a bad token)"},
    403: {"model": ErrorDetail, "description": "Role too low: reads need viewer, writes editor"},
    404: {"model": ErrorDetail, "description": "Unknown id"},
    409: {"model": ErrorDetail, "description": "Name clash, stale version, or still referenced"},
}
PRECONDITION_RESPONSES: dict[int | str, dict[str, Any]] = {
    412: {"model": ErrorDetail, "description": "If-Match names a version that is no longer current"},
}
READ = [require_role("viewer")]
WRITE = [require_role("editor")]
IfMatch = Annotated[str | None, Header(description='The ETag you read (W/"<version>"); 412 when stale')]

# Digits only in the path (so /price-quotes/import is another route, not a bad id) and no id beyond INTEGER.
RowIdPath = Annotated[int, Path(ge=1, le=MAX_ID)]
CSV_RESPONSE: dict[int | str, dict[str, Any]] = {
    200: {"content": {"text/csv": {"schema": {"type": "string"}}}}
}

Conditions = Callable[[Any], Sequence[ColumnElement[bool]]]


@dataclass(frozen=True)
class Resource:
    path: str
    tag: str
    model: type[Base]
    create_schema: type[BaseModel]
    update_schema: type[BaseModel]
    read_schema: type[BaseModel]
    query_schema: type[ListQuery]
    conditions: Conditions
    prepare: Callable[[dict[str, Any]], dict[str, Any]] = field(default=lambda values: values)
    update: Callable[[Session, Any, dict[str, Any], int], Any] | None = None


def build_router(resource: Resource) -> APIRouter:
    router = APIRouter(prefix=f"/{resource.path}", tags=[resource.tag], responses=ERROR_RESPONSES)
    model, read = resource.model, resource.read_schema
    page_schema = type(f"{read.__name__}Page", (Page,), {"__annotations__": {"items": list[read]}})  # type: ignore[valid-type]

    @router.get(
        "",
        response_model=page_schema,
        summary=f"List {resource.path} (JSON or ?format=csv)",
        dependencies=READ,
        responses=CSV_RESPONSE,
    )
    def list_resource(session: SessionDep, query: Annotated[resource.query_schema, Query()]) -> Any:  # type: ignore[name-defined]
        rows, total, exact = crud.list_rows_page(
            session, model, resource.conditions(query), query.sort, query.limit, query.offset
        )
        items = [read.model_validate(row) for row in rows]
        if query.format == "csv":
            return csv_response(read, items, resource.path)
        return page_schema(
            items=items, total=total, total_is_exact=exact, limit=query.limit, offset=query.offset
        )

    @router.get(
        "/{row_id:int}",
        response_model=read,
        summary=f"Get one of {resource.path} (with its ETag)",
        dependencies=READ,
    )
    def get_resource(row_id: RowIdPath, session: SessionDep, response: Response) -> Any:
        row = crud.get_row(session, model, row_id)
        set_etag(response, row.version)  # type: ignore[attr-defined]
        return read.model_validate(row)

    @router.post(
        "",
        response_model=read,
        status_code=status.HTTP_201_CREATED,
        summary=f"Create {resource.tag}",
        dependencies=WRITE,
    )
    def create_resource(body: resource.create_schema, session: SessionDep, response: Response) -> Any:  # type: ignore[name-defined]
        row = crud.create_row(session, model, resource.prepare(body.model_dump()))
        response.headers["Location"] = f"/api/v1/{resource.path}/{row.id}"  # type: ignore[attr-defined]
        return read.model_validate(row)

    @router.patch(
        "/{row_id:int}",
        response_model=read,
        summary=f"Update {resource.tag} (send the version you read)",
        dependencies=WRITE,
        responses=PRECONDITION_RESPONSES,
    )
    def update_resource(
        row_id: RowIdPath,
        body: resource.update_schema,  # type: ignore[name-defined]
        session: SessionDep,
        response: Response,
        if_match: IfMatch = None,
    ) -> Any:
        row = crud.get_row(session, model, row_id)
        check_if_match(if_match, row.version)  # type: ignore[attr-defined]
        values = body.model_dump(exclude_unset=True)
        version = values.pop("version")
        if resource.update is not None:
            updated = resource.update(session, row, values, version)
        else:
            updated = crud.update_row(session, row, resource.prepare(values), version)
        set_etag(response, updated.version)
        return read.model_validate(updated)

    @router.delete(
        "/{row_id:int}",
        status_code=status.HTTP_204_NO_CONTENT,
        summary=f"Delete {resource.tag}",
        dependencies=WRITE,
        responses=PRECONDITION_RESPONSES,
    )
    def delete_resource(row_id: RowIdPath, session: SessionDep, if_match: IfMatch = None) -> Response:
        row = crud.get_row(session, model, row_id)
        check_if_match(if_match, row.version)  # type: ignore[attr-defined]
        crud.delete_row(session, row)
        return Response(status_code=status.HTTP_204_NO_CONTENT)

    return router
