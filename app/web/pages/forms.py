"""Small helpers for server-rendered forms: parse text inputs, collect messages per field, keep the input."""

from __future__ import annotations

import math
import typing
from datetime import date
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import Depends, Request
from fastapi.responses import RedirectResponse
from pydantic import BaseModel, ValidationError


class FormErrors(dict[str, str]):
    """field name → message shown next to that field."""


# Suffixes the pages print (formatting.number: 15.6T, 405B) and so accept back: thousand … quadrillion.
SUFFIXES = {"k": 1e3, "m": 1e6, "b": 1e9, "g": 1e9, "t": 1e12, "p": 1e15}


def _number(text: str, *, suffixes: bool, fraction: bool) -> float:
    """A number as people type it: 1,024 · 2T (with `suffixes`) · 50 % (with `fraction`: 0.5)."""
    if fraction and text.endswith("%"):
        return float(text[:-1].strip()) / 100
    if suffixes and text[-1:].lower() in SUFFIXES:
        return float(text[:-1].strip()) * SUFFIXES[text[-1].lower()]
    return float(text)


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
    suffixes: bool = False,
    fraction: bool = False,
    empty_is_error: bool = False,
) -> float | None:
    """`suffixes`: 2T = 2e12; `fraction`: "50 %" = 0.5 and an out-of-range answer says 0.5 means 50 %;
    `empty_is_error`: a field sent empty is an error even when it has a default (a cleared box never
    silently becomes the default; a field left out of the URL still does)."""
    text = (values.get(name) or "").strip().replace(",", "")
    if not text:
        if (required and default is None) or (empty_is_error and name in values):
            errors[name] = "Needs a value."
        return default
    try:
        number = _number(text, suffixes=suffixes, fraction=fraction)
    except ValueError:
        example = " (such as 2T or 1.5e12)" if suffixes else ""
        errors[name] = f"“{text}” is not a number{example}."
        return default
    hint = f" (a fraction: 0.5 means 50 %; {number:g} % would be {number / 100:g})" if fraction else ""
    if not math.isfinite(number):
        errors[name] = "Must be a finite number."
    elif low is not None and (number < low or (strict_low and number == low)):
        errors[name] = f"Must be {'more than' if strict_low else 'at least'} {low:g}."
    elif high is not None and number > high:
        errors[name] = f"Must be at most {high:g}{hint if number > 1 else ''}."
    return number


def parse_int(
    values: dict[str, str],
    name: str,
    errors: FormErrors,
    *,
    low: int | None = None,
    high: int | None = None,
    default: int | None = None,
    empty_is_error: bool = False,
) -> int | None:
    number = parse_float(
        values, name, errors, low=low, high=high, default=default, empty_is_error=empty_is_error
    )
    if number is None or name in errors:  # not finite, out of range, or not a number: the default
        return default
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


def validate_with(schema: type[BaseModel], data: dict[str, Any], errors: FormErrors) -> BaseModel | None:
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


def schema_bounds(schema: type[BaseModel], field: str) -> tuple[float | None, float | None]:
    """(low, high) of a field of an API schema, so a form checks the bounds the API checks (one source)."""
    info = schema.model_fields[field]
    metadata = list(info.metadata)
    for member in typing.get_args(info.annotation):  # Optional[Annotated[float, Field(...)]]
        metadata += list(getattr(member, "__metadata__", ()))
        for inner in getattr(member, "__metadata__", ()):
            metadata += list(getattr(inner, "metadata", ()))
    low = high = None
    for m in metadata:
        low = getattr(m, "ge", getattr(m, "gt", low))
        high = getattr(m, "le", getattr(m, "lt", high))
    return low, high


async def form_values(request: Request) -> dict[str, str]:
    """The posted form's text fields. Async (reading the body is I/O on the loop) and database-free, so it
    is a dependency of plain `def` handlers: `values: FormValues`."""
    form = await request.form()
    return {key: value for key, value in form.items() if isinstance(value, str)}


FormValues = Annotated[dict[str, str], Depends(form_values)]


def see_other(url: str, **params: Any) -> RedirectResponse:
    """POST → 303 → GET."""
    query = urlencode({k: v for k, v in params.items() if v is not None})
    return RedirectResponse(f"{url}?{query}" if query else url, status_code=303)
