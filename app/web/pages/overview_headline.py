"""The Overview's headline for the chosen scenario: our price floor against the market over time, survival
probability per strategy and runway, from the same simulation the explorer shows."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from sqlalchemy.orm import Session


def headline(request: Request, session: Session) -> dict[str, Any]:
    from app.web.pages.explorer import compute  # the explorer owns the scenario → simulation mapping

    wanted = request.query_params.get("scenario")
    ctx = compute(session, {"scenario": wanted} if wanted else {})
    if ctx.get("base") is None or ctx["errors"] or "charts" not in ctx:
        return {}
    charts = {c.key: c for c in ctx["charts"]}
    return {
        "headline": {
            "scenario": ctx["base"],
            "rows": ctx["rows"],
            "fragments": ctx["fragments"],
            "chosen": ctx["chosen"],
            "horizon": ctx["values"]["horizon"],
            "charts": [charts["price-timeline"], charts["survival"]],
            "explorer_url": ctx["url"]
            if "scenario=" in ctx["url"]
            else f"/explorer?scenario={ctx['base'].id}",
        }
    }
