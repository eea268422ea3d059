"""Overview: the headline numbers, the market's price history and links into each part."""

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from sqlalchemy import func, select

from app.db.models import Accelerator, MarketPrice, ModelConfig, PriceQuote, Scenario, SimulationRun
from app.web.charts.market import PricePoint, market_prices_chart
from app.web.deps import SessionDep
from app.web.pages import overview_headline
from app.web.pages.render import render

router = APIRouter()


@router.get("/", response_class=HTMLResponse)
def home(request: Request, session: SessionDep) -> HTMLResponse:
    counts = {
        label: (session.scalar(select(func.count()).select_from(model)), href)
        for label, model, href in (
            ("accelerators", Accelerator, "/hardware"),
            ("price quotes", PriceQuote, "/hardware"),
            ("market prices", MarketPrice, "/#market"),
            ("model configurations", ModelConfig, "/models"),
            ("scenarios", Scenario, "/explorer"),
            ("stored runs", SimulationRun, "/runs"),
        )
    }
    points = [
        PricePoint(
            m.provider,
            m.model_name,
            m.effective_date,
            m.event_type,
            m.input_usd_per_million,
            m.output_usd_per_million,
        )
        for m in session.scalars(select(MarketPrice).order_by(MarketPrice.effective_date))
    ]
    context = {"active_nav": "overview", "counts": counts, "market_chart": market_prices_chart(points)}
    context.update(overview_headline.headline(request, session))
    return render(request, "home.html", context)
