"""The audit log (read-only) and restoring an earlier price from the price history."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Response, status
from pydantic import BaseModel, ConfigDict, Field

from app.db.models import PriceQuote
from app.services import audit, crud, price_sheet
from app.web.auth import require_role
from app.web.deps import SessionDep
from app.web.schemas import MAX_ID, ErrorDetail, IdPath, IsoDate, IsoDateTime, PriceQuoteRead


class AuditEntryRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    at: datetime = Field(description="When, in UTC")
    actor: str = Field(
        description="Who: a username (\"name (API token #id 'token name')\" for token calls), "
        "'anonymous' or 'system'"
    )
    action: str
    entity: str = Field(description="The table: price_quotes, accelerators, users, api_tokens, …")
    entity_id: int | None
    summary: str = Field(description="The change in words")
    before: dict[str, Any] | None
    after: dict[str, Any] | None


class AuditPage(BaseModel):
    items: list[AuditEntryRead]
    total: int = Field(
        description="Entries matching the filters, counted up to offset + 1,000 (see total_is_exact)"
    )
    total_is_exact: bool = Field(
        default=True,
        description="false: there are more than `total` entries (a million-entry log is never "
        "counted whole per page)",
    )
    limit: int
    offset: int


class AuditQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    entity: Annotated[str | None, Field(max_length=60)] = None
    entity_id: Annotated[int | None, Field(ge=1, le=MAX_ID)] = None
    actor: Annotated[str | None, Field(max_length=120)] = None
    action: Annotated[str | None, Field(max_length=40)] = None
    since: IsoDateTime | None = Field(
        default=None, description="Entries at or after (ISO 8601, UTC if no offset)"
    )
    until: IsoDateTime | None = Field(default=None, description="Entries before")
    limit: Annotated[int, Field(ge=1, le=500)] = 50
    offset: Annotated[int, Field(ge=0, le=10_000_000)] = 0


class RestoreRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    effective_from: IsoDate | None = Field(
        default=None, description="When the restored price starts (default today)"
    )


router = APIRouter(tags=["audit"], dependencies=[require_role("editor")])


def _aware(moment: datetime | None) -> datetime | None:
    from datetime import UTC

    if moment is None:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


@router.get("/audit", response_model=AuditPage, summary="The audit log, newest first (filters, pagination)")
def read_audit(session: SessionDep, query: Annotated[AuditQuery, Query()]) -> AuditPage:
    filters = audit.AuditFilter(
        entity=query.entity,
        entity_id=query.entity_id,
        actor=query.actor,
        action=query.action,
        since=_aware(query.since),
        until=_aware(query.until),
    )
    rows, total, exact = audit.list_entries_page(session, filters, query.limit, query.offset)
    return AuditPage(
        items=[AuditEntryRead.model_validate(r) for r in rows],
        total=total,
        total_is_exact=exact,
        limit=query.limit,
        offset=query.offset,
    )


@router.post(
    "/price-quotes/{quote_id}/restore",
    response_model=PriceQuoteRead,
    status_code=status.HTTP_201_CREATED,
    summary="Restore an earlier price: adds a new dated row with it (history is never rewritten)",
    responses={404: {"model": ErrorDetail}, 409: {"model": ErrorDetail}, 422: {"model": ErrorDetail}},
)
def restore_price(
    quote_id: IdPath, session: SessionDep, response: Response, body: RestoreRequest | None = None
) -> Any:
    old = crud.get_row(session, PriceQuote, quote_id)
    row = price_sheet.restore_quote(session, old, body.effective_from if body else None)
    response.headers["Location"] = f"/api/v1/price-quotes/{row.id}"
    return PriceQuoteRead.model_validate(row)
