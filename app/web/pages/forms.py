"""Small helpers for server-rendered forms: parse text inputs, collect messages per field, keep the input."""

from __future__ import annotations

import math
from datetime import date
from typing import Any
from urllib.parse import urlencode

from fastapi import Request
from fastapi.responses import RedirectResponse
from pydantic import BaseModel, ValidationError


class FormErrors(dict[str, str]):
    """field name → message shown next to that field."""


def parse_float(
    values: dict[str, str],
    name: str,
    errors: FormErrors,
    *,
    low: float | None = None,
    high: float | None = None,
    required: bool = True,
    default: float | None = None,
    strict_low: bool = False,
) -> float | None:
    text = (values.get(name) or "").strip().replace(",", "")
    if not text:
        if required and default is None:
            errors[name] = "Needs a value."
        return default
    try:
        number = float(text)
    except ValueError:
        errors[name] = f"“{text}” is not a number."
        return default
    if not math.isfinite(number):
        errors[name] = "Must be a finite number."
    elif low is not None and (number < low or (strict_low and number == low)):
        errors[name] = f"Must be {'more than' if strict_low else 'at least'} {low:g}."
    elif high is not None and number > high:
        errors[name] = f"Must be at most {high:g}."
    return number


def parse_int(
    values: dict[str, str],
    name: str,
    errors: FormErrors,
    *,
    low: int | None = None,
    high: int | None = None,
    default: int | None = None,
) -> int | None:
    number = parse_float(values, name, errors, low=low, high=high, default=default)
    if number is None or name in errors:
        return default if number is None else int(number)
    if number != int(number):
        errors[name] = "Must be a whole number."
        return default
    return int(number)


def parse_date(
    values: dict[str, str], name: str, errors: FormErrors, *, required: bool = True
) -> date | None:
    text = (values.get(name) or "").strip()
    if not text:
        if required:
            errors[name] = "Needs a date (YYYY-MM-DD)."
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        errors[name] = f"“{text}” is not a date (YYYY-MM-DD)."
        return None


def _bound(value: Any) -> str:
    return f"{value:,.10g}" if isinstance(value, int | float) else str(value)


# What a form shows for a failed bound of the API's schema (pydantic error type → message).
_MESSAGES = {
    "less_than_equal": lambda ctx: f"Must be at most {_bound(ctx['le'])}.",
    "less_than": lambda ctx: f"Must be less than {_bound(ctx['lt'])}.",
    "greater_than": lambda ctx: f"Must be more than {_bound(ctx['gt'])}.",
    "greater_than_equal": lambda ctx: f"Must be at least {_bound(ctx['ge'])}.",
    "finite_number": lambda ctx: "Must be a finite number.",
    "string_too_long": lambda ctx: f"At most {ctx['max_length']} characters.",
    "string_too_short": lambda ctx: "Needs a value.",
}


def validate_with(
    schema: type[BaseModel], data: dict[str, Any], errors: FormErrors
) -> BaseModel | None:
    """Check typed form values against the API's own schema (one validation for forms and API): each
    failure goes next to its field, worded for people; None when anything failed."""
    try:
        return schema.model_validate(data)
    except ValidationError as exc:
        for error in exc.errors():
            field = str(error["loc"][0]) if error["loc"] else "form"
            message = _MESSAGES.get(error["type"])
            errors.setdefault(field, message(error.get("ctx", {})) if message else error["msg"] + ".")
        return None


async def form_values(request: Request) -> dict[str, str]:
    form = await request.form()
    return {key: value for key, value in form.items() if isinstance(value, str)}


def see_other(url: str, **params: Any) -> RedirectResponse:
    """POST → 303 → GET."""
    query = urlencode({k: v for k, v in params.items() if v is not None})
    return RedirectResponse(f"{url}?{query}" if query else url, status_code=303)
