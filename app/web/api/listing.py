"""Shared list parameters and the JSON/CSV answer of every list endpoint."""

from collections.abc import Sequence
from typing import Annotated, Any, Literal

from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field, field_validator

from app.services import csv_export

MAX_PAGE_SIZE = 1000


class ListQuery(BaseModel):
    """Pagination, sort and format, shared by every list; each resource adds its own filters."""

    model_config = ConfigDict(extra="forbid")

    limit: Annotated[int, Field(ge=1, le=MAX_PAGE_SIZE)] = 100
    offset: Annotated[int, Field(ge=0, le=10_000_000)] = 0
    sort: Annotated[str | None, Field(max_length=200, description="field[,−field…]; '-' for descending")] = (
        None
    )
    format: Literal["json", "csv"] = "json"

    @field_validator("*", mode="after")
    @classmethod
    def _no_nul_characters(cls, value: Any) -> Any:
        if isinstance(value, str) and "\x00" in value:
            raise ValueError("must not contain NUL (\\x00) characters")
        return value


def csv_response(read_schema: type[BaseModel], rows: Sequence[BaseModel], filename: str) -> Response:
    """The same columns and units as the JSON, numbers written plainly (no thousands separators)."""
    columns = list(read_schema.model_fields)
    body = csv_export.to_csv(
        columns, ([_cell(data[c]) for c in columns] for data in (r.model_dump(mode="json") for r in rows))
    )
    headers = csv_export.attachment(f"{filename}.csv")
    return Response(body, media_type=csv_export.CSV_MEDIA_TYPE, headers=headers)


def _cell(value: Any) -> Any:
    """Floats without a spurious ".0" (the rest, escaping included, is csv_export's)."""
    if value is None:
        return ""
    if isinstance(value, float):
        return repr(value) if value != int(value) or abs(value) >= 1e16 else str(int(value))
    if isinstance(value, dict | list):
        import json

        return json.dumps(value, sort_keys=True)
    return value
