"""CSV import of price quotes: a dry run reports the diff against the sheet; a commit is all-or-nothing.

A row is matched to the current sheet by (provider, instance_type, region, pricing_model). Same prices →
unchanged; other prices → changed (the current row is closed and a dated successor added, as for any price
change); no match → added. Any invalid row refuses the whole commit.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from datetime import date
from typing import Any, Literal

from pydantic import BaseModel, ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.db.models import PriceQuote
from app.services import audit, crud, price_sheet
from app.services.errors import ValidationFailed

MAX_ROWS = 20_000
COMPARED_FIELDS = ("accelerator_count", "usd_per_hour", "usd_per_accelerator_hour", "discount_percent")
NUMERIC_COLUMNS = {
    "accelerator_id": int,
    "accelerator_count": int,
    "usd_per_hour": float,
    "usd_per_accelerator_hour": float,
    "discount_percent": float,
}


class RowOutcome(BaseModel):
    line: int
    status: Literal["added", "changed", "unchanged", "invalid"]
    key: str
    reason: str = ""
    before_usd_per_hour: float | None = None
    after_usd_per_hour: float | None = None


class ImportReport(BaseModel):
    dry_run: bool
    committed: bool
    added: int
    changed: int
    unchanged: int
    invalid: int
    rows: list[RowOutcome]
    skipped: int = 0  # rows of a published file that are not offers (e.g. CPU machines in a SkyPilot catalog)


def import_quotes(session: Session, text: str, dry_run: bool) -> ImportReport:
    """The project's own CSV (the price-quote columns, `accelerator_name` accepted for the id)."""
    reader = csv.DictReader(io.StringIO(text, newline=""))
    try:
        if not reader.fieldnames:
            raise ValidationFailed("the file is empty or has no header row", field="file")
    except csv.Error as exc:
        raise _unreadable(reader, exc) from exc
    return import_quote_rows(session, _records(reader), dry_run, "CSV import of price quotes")


def _records(reader: csv.DictReader[str]) -> Iterable[tuple[int, dict[str, Any]]]:
    """(line where the record starts, cells): a quoted field may span lines."""
    while True:
        start = reader.line_num + 1
        try:
            raw = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:  # e.g. a field over the csv module's limit (128 KiB): 422, never 500
            raise _unreadable(reader, exc) from exc
        yield start, raw


def _unreadable(reader: csv.DictReader[str], exc: csv.Error) -> ValidationFailed:
    reason = str(exc)
    if "field larger than field limit" in reason:
        reason = f"a field is longer than {csv.field_size_limit()} characters"
    # the reader counts a line once it is parsed: the failing one is the next
    return ValidationFailed(f"line {reader.line_num + 1}: {reason}", field="file")


def import_quote_rows(
    session: Session,
    rows: Iterable[tuple[int, dict[str, Any]]],
    dry_run: bool,
    label: str,
    rejected: Iterable[RowOutcome] = (),
) -> ImportReport:
    """Validate `rows` (line number, cells) with the one quote schema, diff them against the sheet and, unless
    a dry run or any row is invalid, apply them all. `rejected` are rows a converter already refused."""
    from app.web.schemas import PriceQuoteCreate  # the strict schema is the one validation of a quote

    outcomes: list[RowOutcome] = list(rejected)
    planned: list[tuple[PriceQuote | None, dict[str, Any]]] = []
    seen_keys: set[tuple[str, str, str, str]] = set()
    for index, (line, raw) in enumerate(rows):
        if index >= MAX_ROWS:
            raise ValidationFailed(f"more than {MAX_ROWS} rows; split the file", field="file")
        try:
            values = PriceQuoteCreate.model_validate(_coerce(raw, session)).model_dump()
            values = price_sheet.prepare_quote(values)
        except (ValidationError, ValueError, ValidationFailed) as exc:
            outcomes.append(RowOutcome(line=line, status="invalid", key=_key_text(raw), reason=_reason(exc)))
            continue
        key = (values["provider"], values["instance_type"], values["region"], values["pricing_model"])
        if key in seen_keys:
            outcomes.append(
                RowOutcome(
                    line=line, status="invalid", key=_key_text(raw), reason="duplicate of an earlier row"
                )
            )
            continue
        seen_keys.add(key)
        current = _current_quote(session, key, values["effective_from"])
        outcomes.append(_compare(line, current, values))
        planned.append((current, values))

    outcomes.sort(key=lambda outcome: outcome.line)
    counts = {
        status: sum(o.status == status for o in outcomes)
        for status in ("added", "changed", "unchanged", "invalid")
    }
    committed = not dry_run and counts["invalid"] == 0
    if committed:
        for current, values in planned:
            _apply(session, current, values)
        audit.record(
            session,
            "import",
            "price_quotes",
            None,
            f"{label}: {counts['added']} added, {counts['changed']} changed, {counts['unchanged']} unchanged",
        )
    report = ImportReport(dry_run=dry_run, committed=committed, rows=outcomes, **counts)
    if not dry_run and not committed:
        raise ImportRefused(report)
    return report


class ImportRefused(ValidationFailed):
    """A commit with invalid rows writes nothing; the report says which rows and why."""

    def __init__(self, report: ImportReport) -> None:
        super().__init__(f"{report.invalid} invalid row(s): nothing was imported", field="file")
        self.report = report


def _coerce(raw: dict[str, str | None], session: Session) -> dict[str, Any]:
    """CSV cells are text: empty → absent, numbers parsed, an accelerator name resolved to its id."""
    values: dict[str, Any] = {}
    for column, cell in raw.items():
        if column is None:
            raise ValueError("row has more cells than the header")
        cell = (cell or "").strip()
        if cell == "" or column in ("id", "version", "created_at", "updated_at"):
            continue
        if column == "accelerator_name":
            accelerator = price_sheet.accelerator_by_name(session, cell)
            if accelerator is None:
                raise ValueError(f"accelerator_name: no accelerator named '{cell}'")
            values["accelerator_id"] = accelerator.id
            continue
        parse = NUMERIC_COLUMNS.get(column)
        try:
            values[column] = parse(cell) if parse else cell
        except ValueError as exc:
            raise ValueError(f"{column}: '{cell}' is not a number") from exc
    return values


def _current_quote(session: Session, key: tuple[str, str, str, str], as_of: date) -> PriceQuote | None:
    provider, instance_type, region, pricing_model = key
    query = select(PriceQuote).where(
        PriceQuote.provider == provider,
        PriceQuote.instance_type == instance_type,
        PriceQuote.region == region,
        PriceQuote.pricing_model == pricing_model,
        PriceQuote.effective_to.is_(None),
    )
    return session.scalars(query).first()


def _compare(line: int, current: PriceQuote | None, values: dict[str, Any]) -> RowOutcome:
    key = (
        f"{values['provider']} {values['instance_type']} {values['region']} {values['pricing_model']}".strip()
    )
    if current is None:
        return RowOutcome(line=line, status="added", key=key, after_usd_per_hour=values["usd_per_hour"])
    same = all(_close(getattr(current, f), values[f]) for f in COMPARED_FIELDS)
    if not same and values["effective_from"] <= current.effective_from:
        return RowOutcome(
            line=line,
            status="invalid",
            key=key,
            reason=f"effective_from: a new price must start after the current one ({current.effective_from})",
        )
    return RowOutcome(
        line=line,
        status="unchanged" if same else "changed",
        key=key,
        before_usd_per_hour=current.usd_per_hour,
        after_usd_per_hour=values["usd_per_hour"],
    )


def _apply(session: Session, current: PriceQuote | None, values: dict[str, Any]) -> None:
    if current is None:
        crud.create_row(session, PriceQuote, values)
    elif not all(_close(getattr(current, f), values[f]) for f in COMPARED_FIELDS):
        changed = {f: values[f] for f in (*COMPARED_FIELDS, "effective_from", "source", "notes")}
        price_sheet.change_quote(session, current, changed, current.version)


def _close(a: float | None, b: float | None) -> bool:
    if a is None or b is None:
        return a is b
    return abs(a - b) <= 1e-9 * max(abs(a), abs(b), 1.0)


def _key_text(raw: dict[str, Any]) -> str:
    return " ".join(
        str(raw.get(c) or "") for c in ("provider", "instance_type", "region", "pricing_model")
    ).strip()


def _reason(exc: Exception) -> str:
    if isinstance(exc, ValidationFailed) and exc.field:
        return f"{exc.field}: {exc.message}"
    if isinstance(exc, ValidationError):
        return "; ".join(f"{'.'.join(str(p) for p in e['loc']) or 'row'}: {e['msg']}" for e in exc.errors())
    return str(exc)
