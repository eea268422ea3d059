"""The audit log page and the price-quote edit form with its edit-conflict answer (409: yours vs current,
with "overwrite", "reload" and "save as new")."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from app.db.models import PRICING_MODELS, PriceQuote
from app.services import audit, crud, price_sheet
from app.services.errors import ConflictError, ServiceError
from app.web.auth import require_role
from app.web.deps import SessionDep
from app.web.pages.forms import FormErrors, FormValues, parse_date, parse_float, see_other
from app.web.pages.render import render
from app.web.schemas import IdPath

router = APIRouter(dependencies=[require_role("editor")])
PAGE_SIZE = 50

# The form's fields: (name, label, kind). Price fields make a new dated row; the others are corrected
# in place.
QUOTE_FIELDS: tuple[tuple[str, str, str], ...] = (
    ("instance_type", "Instance type", "text"),
    ("region", "Region", "text"),
    ("pricing_model", "Pricing model", "select"),
    ("usd_per_hour", "Price, USD per instance-hour", "number"),
    ("discount_percent", "Discount, %", "number"),
    ("source", "Source", "text"),
    ("notes", "Notes", "textarea"),
)


# What the filters offer, in words (the stored value is the internal name; typed words are accepted too).
ACTION_LABELS: dict[str, str] = {
    "create": "added",
    "update": "edited",
    "delete": "deleted",
    "price_change": "price change",
    "restore": "price restored",
    "import": "import",
    "login": "sign-in",
    "login_failed": "failed sign-in",
    "logout": "sign-out",
    "user_create": "user added",
    "user_update": "user changed",
    "token_create": "API token created",
    "token_revoke": "API token revoked",
}
ENTITY_LABELS: dict[str, str] = {
    "price_quotes": "Price sheet",
    "accelerators": "Accelerators",
    "market_prices": "API market prices",
    "model_configs": "Models",
    "scenarios": "Scenarios",
    "simulation_runs": "Stored runs",
    "users": "Users",
    "api_tokens": "API tokens",
}


def internal_name(text: str | None, labels: dict[str, str]) -> str | None:
    """A filter value as stored: the internal name itself, or its label / words typed any way
    ("Price change", "price-change", "sign-in" → price_change, login)."""
    if not text or not text.strip():
        return None
    words = text.strip().lower()
    for name, label in labels.items():
        if words in (name, label.lower()):
            return name
    squashed = "_".join(words.replace("-", " ").split())
    return next((n for n in labels if n == squashed), text.strip())


@router.get("/audit", response_class=HTMLResponse)
def audit_page(request: Request, session: SessionDep) -> HTMLResponse:
    params = request.query_params
    entity_id = params.get("entity_id", "")
    offset = params.get("offset", "0")
    filters = audit.AuditFilter(
        entity=internal_name(params.get("entity"), ENTITY_LABELS),
        actor=params.get("actor") or None,
        action=internal_name(params.get("action"), ACTION_LABELS),
        entity_id=int(entity_id) if entity_id.isdigit() else None,
    )
    start = int(offset) if offset.isdigit() else 0
    start = min(start, 10_000_000)
    rows, total, exact = audit.list_entries_page(session, filters, PAGE_SIZE, start)
    return render(
        request,
        "audit.html",
        {
            "rows": rows,
            "total": total,
            "total_is_exact": exact,
            "offset": start,
            "page_size": PAGE_SIZE,
            "filters": filters,
            "action_labels": ACTION_LABELS,
            "entity_labels": ENTITY_LABELS,
            "active_nav": "audit",
        },
    )


def _form_from_row(quote: PriceQuote) -> dict[str, str]:
    values = {
        name: "" if getattr(quote, name) is None else str(getattr(quote, name)) for name, _, _ in QUOTE_FIELDS
    }
    values["version"] = str(quote.version)
    values["effective_from"] = ""
    return values


def _edit_page(
    request: Request,
    quote: PriceQuote,
    form: dict[str, str],
    errors: FormErrors,
    status_code: int = 200,
    conflict: list[dict[str, Any]] | None = None,
    saved: bool = False,
) -> HTMLResponse:
    return render(
        request,
        "edit_quote.html",
        {
            "quote": quote,
            "form": form,
            "errors": errors,
            "fields": QUOTE_FIELDS,
            "pricing_models": PRICING_MODELS,
            "conflict": conflict,
            "saved": saved,
            "label": audit.label_of(quote),
            "active_nav": "hardware",
        },
        status_code,
    )


@router.get("/price-quotes/{quote_id}/edit", response_class=HTMLResponse)
def edit_quote_form(quote_id: IdPath, request: Request, session: SessionDep) -> HTMLResponse:
    quote = crud.get_row(session, PriceQuote, quote_id)
    return _edit_page(
        request, quote, _form_from_row(quote), FormErrors(), saved=request.query_params.get("saved") == "1"
    )


def _parse(form: dict[str, str], errors: FormErrors) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for name in ("instance_type", "region", "source", "notes"):
        values[name] = (form.get(name) or "").strip()
    if not values["instance_type"]:
        errors["instance_type"] = "Needs a value."
    limits = {"instance_type": 120, "region": 80, "source": 4000, "notes": 4000}
    for name, limit in limits.items():
        if len(values[name]) > limit:
            errors[name] = f"At most {limit} characters."
    model = form.get("pricing_model", "")
    if model not in PRICING_MODELS:
        errors["pricing_model"] = "Choose one of the listed pricing models."
    values["pricing_model"] = model
    values["usd_per_hour"] = parse_float(
        form, "usd_per_hour", errors, low=0, strict_low=True, high=10_000_000
    )
    values["discount_percent"] = parse_float(form, "discount_percent", errors, low=0, high=99.99, default=0.0)
    start = parse_date(form, "effective_from", errors, required=False)
    if start is not None:
        values["effective_from"] = start
    return values


def _conflict_rows(quote: PriceQuote, form: dict[str, str]) -> list[dict[str, Any]]:
    current = _form_from_row(quote)
    return [
        {
            "name": name,
            "label": label,
            "yours": form.get(name, ""),
            "current": current[name],
            "differs": (form.get(name, "") or "").strip() != current[name],
        }
        for name, label, _ in QUOTE_FIELDS
    ]


@router.post("/price-quotes/{quote_id}/restore", response_class=HTMLResponse)
def restore_quote(quote_id: IdPath, request: Request, session: SessionDep, form: FormValues) -> Response:
    """Restore this (historical) price: a new dated row with it, from the chosen day (default today)."""
    quote = crud.get_row(session, PriceQuote, quote_id)
    errors = FormErrors()
    start = parse_date(form, "effective_from", errors, required=False)
    if not errors:
        try:
            row = price_sheet.restore_quote(session, quote, start)
        except ServiceError as exc:
            errors["restore"] = exc.message
        else:
            return see_other(f"/price-quotes/{row.id}/edit", saved="1")
    return _edit_page(request, quote, _form_from_row(quote), errors, 409 if "restore" in errors else 422)


def quote_conflict_page(
    request: Request, session: Session, quote_id: int, mine: dict[str, str]
) -> HTMLResponse:
    """409 for any form that saved a stale price quote: the user's values (`mine`, over the current row's)
    next to the current ones, with "overwrite", "reload" and "save as new" (posting to the edit form)."""
    quote = crud.get_row(session, PriceQuote, quote_id)
    form = {**_form_from_row(quote), **{k: v for k, v in mine.items() if v is not None}}
    return _edit_page(request, quote, form, FormErrors(), 409, conflict=_conflict_rows(quote, form))


@router.post("/price-quotes/{quote_id}/edit", response_class=HTMLResponse)
def save_quote(quote_id: IdPath, request: Request, session: SessionDep, form: FormValues) -> Response:
    quote = crud.get_row(session, PriceQuote, quote_id)
    errors = FormErrors()
    values = _parse(form, errors)
    version_text = form.get("version", "")
    if not version_text.isdigit():
        errors["version"] = "The form is missing the row version; reload the page."
    if errors:
        return _edit_page(request, quote, form, errors, 422)
    action = form.get("action", "save")
    if action == "save_as_new":
        row = crud.create_row(session, PriceQuote, price_sheet.prepare_quote(_new_row_values(quote, values)))
        return see_other(f"/price-quotes/{row.id}/edit", saved="1")
    if int(version_text) != quote.version:
        return _edit_page(request, quote, form, errors, 409, conflict=_conflict_rows(quote, form))
    changes = _changes(quote, values)
    if not changes:
        return see_other(f"/price-quotes/{quote.id}/edit", saved="1")
    try:
        row = price_sheet.change_quote(session, quote, changes, int(version_text))
    except ConflictError as exc:
        if exc.field == "version":  # lost a race between our read and our write
            fresh = crud.get_row(session, PriceQuote, quote_id)
            return _edit_page(request, fresh, form, errors, 409, conflict=_conflict_rows(fresh, form))
        errors[exc.field or "usd_per_hour"] = exc.message
        return _edit_page(request, quote, form, errors, 409)
    except ServiceError as exc:
        errors[exc.field or "usd_per_hour"] = exc.message
        return _edit_page(request, quote, form, errors, 422)
    return see_other(f"/price-quotes/{row.id}/edit", saved="1")


def _changes(quote: PriceQuote, values: dict[str, Any]) -> dict[str, Any]:
    """Only what differs; a start date only goes with a new price (else it would move the current row)."""
    changes = {k: v for k, v in values.items() if k != "effective_from" and getattr(quote, k) != v}
    if price_sheet.PRICE_FIELDS & set(changes):
        if "usd_per_hour" in changes:
            changes["usd_per_accelerator_hour"] = changes["usd_per_hour"] / quote.accelerator_count
        if "effective_from" in values:
            changes["effective_from"] = values["effective_from"]
    return changes


def _new_row_values(quote: PriceQuote, values: dict[str, Any]) -> dict[str, Any]:
    skip = {"id", "created_at", "updated_at", "version", "usd_per_accelerator_hour", "effective_to"}
    row = {c.name: getattr(quote, c.name) for c in PriceQuote.__table__.columns if c.name not in skip}
    row.update(values)
    row["effective_from"] = values.get("effective_from") or quote.effective_from
    row["effective_to"] = None
    return row
