"""The home page: what is in the database, with links into each part."""

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from sqlalchemy import func, select

from app.db.models import Accelerator, MarketPrice, ModelConfig, PriceQuote, Scenario
from app.web.deps import SessionDep
from app.web.pages.render import render

router = APIRouter()


@router.get("/", response_class=HTMLResponse)
def home(request: Request, session: SessionDep) -> HTMLResponse:
    counts = {
        label: session.scalar(select(func.count()).select_from(model))
        for label, model in (
            ("accelerators", Accelerator),
            ("price quotes", PriceQuote),
            ("market prices", MarketPrice),
            ("model configurations", ModelConfig),
            ("scenarios", Scenario),
        )
    }
    return render(request, "home.html", {"counts": counts})
