"""Server-rendered pages (kept out of the OpenAPI schema)."""

from fastapi import APIRouter

from app.web.pages import (
    access,
    admin,
    audit,
    compare,
    explorer,
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
    access,
    audit,
    admin,
)


def page_router() -> APIRouter:
    router = APIRouter(include_in_schema=False)
    for module in PAGE_MODULES:
        router.include_router(module.router)
    return router
