"""Server-rendered pages (kept out of the OpenAPI schema)."""

from fastapi import APIRouter, Depends

from app.web.currency import choose_currency, load_currency
from app.web.pages import (
    access,
    admin,
    audit,
    compare,
    explorer,
    fx_rates,
    hardware,
    home,
    jobs,
    market,
    methodology,
    models,
    report,
    runs,
    strategy,
)

PAGE_MODULES = (
    home,
    hardware,
    models,
    strategy,
    explorer,
    compare,
    runs,
    report,
    jobs,
    market,
    methodology,
    fx_rates,
    access,
    audit,
    admin,
)


def page_router() -> APIRouter:
    # The display currency (?currency=EUR) of every page: see app/web/currency.py.
    router = APIRouter(
        include_in_schema=False, dependencies=[Depends(choose_currency), Depends(load_currency)]
    )
    for module in PAGE_MODULES:
        router.include_router(module.router)
    return router
