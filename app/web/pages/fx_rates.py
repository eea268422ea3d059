"""Display-currency rates: every dated rate with its source; editors add a newer one (audited)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from app.db.fx import DISPLAY_CURRENCIES
from app.services import fx
from app.services.errors import ServiceError
from app.web.auth import require_role
from app.web.deps import SessionDep
from app.web.pages.forms import FormErrors, FormValues, parse_date, parse_float, see_other
from app.web.pages.render import render

router = APIRouter()


def _page(
    request: Request, session: SessionDep, errors: FormErrors, form: dict[str, str], status: int
) -> HTMLResponse:
    return render(
        request,
        "fx_rates.html",
        {
            "active_nav": "",
            "rates": fx.rates(session),
            "currencies": DISPLAY_CURRENCIES[1:],
            "errors": errors,
            "form": form,
            "saved": request.query_params.get("saved"),
        },
        status_code=status,
    )


@router.get("/currency", response_class=HTMLResponse)
def rates_page(request: Request, session: SessionDep) -> HTMLResponse:
    return _page(request, session, FormErrors(), {}, 200)


@router.post("/currency/rates", response_class=HTMLResponse, dependencies=[require_role("editor")])
def add_rate(request: Request, session: SessionDep, values: FormValues) -> Response:
    errors = FormErrors()
    rate = parse_float(values, "units_per_usd", errors, low=0, high=1e6, strict_low=True)
    as_of = parse_date(values, "as_of", errors)
    if not (values.get("source") or "").strip():
        errors["source"] = (
            "Say where the rate comes from (a central bank's reference rate, a bank statement…)."
        )
    if not errors:
        try:
            fx.add_rate(
                session,
                {
                    "currency": values.get("currency", ""),
                    "units_per_usd": rate,
                    "as_of": as_of,
                    "source": values["source"].strip(),
                },
            )
        except ServiceError as exc:
            errors[exc.field or "currency"] = exc.message
        else:
            return see_other("/currency", saved=values.get("currency", ""))
    return _page(request, session, errors, values, 422)
