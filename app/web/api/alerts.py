"""Price-floor alerts over REST: GET /api/v1/alerts."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel

from app.services import alerts
from app.web.auth import require_role
from app.web.deps import SessionDep
from app.web.schemas import RowId

router = APIRouter(tags=["alerts"], dependencies=[require_role("viewer")])


class AlertsRead(BaseModel):
    items: list[alerts.Alert]
    unpriced_scenarios: list[str]


@router.get("/alerts", response_model=AlertsRead)
def read_alerts(
    session: SessionDep,
    scenario_id: Annotated[list[RowId] | None, Query(description="Only these scenarios (repeatable)")] = None,
) -> AlertsRead:
    """Market prices, in the comparable set each scenario names, at or below that scenario's price floor
    (output USD per 1M tokens), deepest first; computed from what is stored now."""
    items, problems = alerts.alerts(session, scenario_id)
    return AlertsRead(items=items, unpriced_scenarios=problems)
