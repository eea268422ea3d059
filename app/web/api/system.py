"""Health, readiness, whole-database export/import and the price-sheet CSV import."""

from typing import Annotated, Any

from fastapi import APIRouter, File, Query, UploadFile
from fastapi.responses import JSONResponse

from app.config import get_settings
from app.db.session import get_engine
from app.services import quote_import, transfer
from app.services.errors import ValidationFailed
from app.web.deps import SessionDep

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
def import_database(document: dict[str, Any], session: SessionDep) -> dict[str, int]:
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
async def import_price_quotes(
    session: SessionDep,
    file: Annotated[UploadFile, File(description="CSV with the price-quote columns")],
    dry_run: Annotated[bool, Query(description="Only report the diff; write nothing")] = True,
) -> quote_import.ImportReport:
    limit = get_settings().max_upload_bytes
    if file.size is not None and file.size > limit:
        raise ValidationFailed(f"file is {file.size} bytes; the limit is {limit}", field="file")
    content = await file.read(limit + 1)
    if len(content) > limit:
        raise ValidationFailed(f"file is larger than the limit of {limit} bytes", field="file")
    try:
        decoded = content.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ValidationFailed("file is not UTF-8 text", field="file") from exc
    return quote_import.import_quotes(session, decoded, dry_run=dry_run)
