"""Health, readiness, whole-database export/import and the price-sheet CSV import."""

import json
from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, File, Query, UploadFile
from fastapi.responses import JSONResponse

from app.config import get_settings
from app.db.session import get_engine
from app.services import litellm_import, quote_import, skypilot_import, transfer
from app.services.errors import ValidationFailed
from app.web.deps import SessionDep
from app.web.heavy import HeavyWork
from app.web.uploads import upload_content, upload_text

router = APIRouter(tags=["system"])
health_router = APIRouter(include_in_schema=False)


@health_router.get("/healthz")
def healthz() -> dict[str, str]:
    """The process is alive (does not touch the database)."""
    return {"status": "ok"}


@health_router.get("/readyz")
def readyz() -> JSONResponse:
    """The database answers."""
    try:
        # A bare DBAPI round trip, outside any SQLAlchemy transaction: on SQLite a transaction begins with
        # BEGIN IMMEDIATE and would queue behind the request's own session (busy timeout, then "locked").
        connection = get_engine().raw_connection()
        try:
            cursor = connection.cursor()
            cursor.execute("SELECT 1")
            cursor.close()
        finally:
            connection.close()
    except Exception as exc:  # noqa: BLE001 - any failure means not ready
        return JSONResponse(
            {"status": "unavailable", "detail": type(exc).__name__}, 503, {"Retry-After": "5"}
        )
    return JSONResponse({"status": "ready"})


@router.get("/export", summary="The whole database as one versioned JSON document")
def export_database(session: SessionDep) -> dict[str, Any]:
    return transfer.export_document(session)


@router.post(
    "/import",
    summary="Load an exported document into an empty database (all or nothing)",
    max_body_size=10 * get_settings().max_upload_bytes,
    responses={413: {"description": "The document is larger than the limit (use `pricewar import`)"}},
)
def import_database(document: dict[str, Any], session: SessionDep, work: HeavyWork) -> dict[str, int]:
    return transfer.import_document(session, document)


# Refused (413) from Content-Length, or while streaming, before an oversized body is read or spooled whole;
# the slack covers the multipart envelope around the file.
UPLOAD_BODY_LIMIT = get_settings().max_upload_bytes + 64 * 1024


@router.post(
    "/price-quotes/import",
    summary="CSV import of price quotes: dry run (diff) or commit",
    max_body_size=UPLOAD_BODY_LIMIT,
    responses={413: {"description": "The upload is larger than the limit"}},
)
def import_price_quotes(
    session: SessionDep,
    work: HeavyWork,
    content: Annotated[bytes, Depends(upload_content)],
    file: Annotated[UploadFile | None, File(description="The file, or send it as the request body")] = None,
    dry_run: Annotated[bool, Query(description="Only report the diff; write nothing")] = True,
    source: Annotated[
        Literal["csv", "skypilot"],
        Query(description="csv: the price-quote columns; skypilot: a SkyPilot catalog vms.csv as published"),
    ] = "csv",
    provider: Annotated[
        str | None, Query(min_length=1, max_length=80, description="The cloud of a SkyPilot catalog (required)")
    ] = None,
    effective_from: Annotated[
        date | None, Query(description="SkyPilot: the date the catalog's prices start (default today)")
    ] = None,
) -> quote_import.ImportReport:
    text = upload_text(content)
    if source == "skypilot":
        if provider is None:
            raise ValidationFailed("a SkyPilot catalog needs ?provider= (e.g. aws)", field="provider")
        return skypilot_import.import_catalog(
            session, text, provider, effective_from or date.today(), dry_run=dry_run
        )
    return quote_import.import_quotes(session, text, dry_run=dry_run)


@router.post(
    "/market-prices/import",
    summary="Import LiteLLM's model_prices_and_context_window.json: dry run (diff) or commit",
    max_body_size=UPLOAD_BODY_LIMIT,
    responses={413: {"description": "The upload is larger than the limit"}},
)
def import_market_prices(
    session: SessionDep,
    content: Annotated[bytes, Depends(upload_content)],
    file: Annotated[UploadFile | None, File(description="The JSON file, or send it as the request body")] = None,
    source: Annotated[Literal["litellm"], Query(description="The format: LiteLLM's price table")] = "litellm",
    dry_run: Annotated[bool, Query(description="Only report the diff; write nothing")] = True,
    effective_from: Annotated[date | None, Query(description="The date the prices start (default today)")] = None,
) -> litellm_import.LiteLLMImportReport:
    try:
        document = json.loads(upload_text(content))
    except json.JSONDecodeError as exc:
        raise ValidationFailed(f"not JSON: {exc.msg} at line {exc.lineno}", field="file") from exc
    return litellm_import.import_prices(session, document, effective_from or date.today(), dry_run=dry_run)
