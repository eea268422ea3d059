"""The REST API under /api/v1. Add a feature's router to ROUTERS to publish it."""

from fastapi import APIRouter

from app.web.api import (
    access,
    alerts,
    audit,
    catalog,
    estimates,
    jobs,
    market_analysis,
    measurements,
    ownership,
    simulations,
    system,
)

ROUTERS: list[APIRouter] = [
    *catalog.routers,
    system.router,
    *access.routers,
    audit.router,
    estimates.router,
    ownership.router,
    alerts.router,
    market_analysis.router,
    simulations.router,
    jobs.router,
    measurements.router,
]


def api_router() -> APIRouter:
    router = APIRouter(prefix="/api/v1")
    for feature_router in ROUTERS:
        router.include_router(feature_router)
    return router
