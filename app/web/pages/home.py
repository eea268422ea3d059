"""Overview: the headline numbers, the market's price history and links into each part."""

from datetime import date

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from markupsafe import Markup
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.db.models import Accelerator, MarketPrice, ModelConfig, PriceQuote, Scenario, SimulationRun
from app.services import alerts
from app.web.charts.base import Chart
from app.web.charts.market import PricePoint, market_prices_chart
from app.web.deps import SessionDep
from app.web.pages import overview_headline
from app.web.pages.page_cache import BoundedCache, database_of, stamp, table_stat_columns
from app.web.pages.render import chart_html, render

router = APIRouter()

COUNTED = (
    ("accelerators", Accelerator, "/hardware"),
    ("price quotes", PriceQuote, "/hardware"),
    ("market prices", MarketPrice, "/#market"),
    ("model configurations", ModelConfig, "/models"),
    ("scenarios", Scenario, "/explorer"),
    ("stored runs", SimulationRun, "/runs"),
)
# The market chart: drawn once per state of that table (stamped), not per render, from the latest
# MARKET_CHART_POINTS prices (an index walk of effective_date; never the whole table of a grown history).
_MARKET_CHARTS = BoundedCache(8)
MARKET_CHART_POINTS = 500


def _market_chart(session: Session, total: int) -> tuple[Chart, Markup]:
    points = [
        PricePoint(
            m.provider,
            m.model_name,
            m.effective_date,
            m.event_type,
            m.input_usd_per_million,
            m.output_usd_per_million,
        )
        for m in session.execute(
            select(
                MarketPrice.provider,
                MarketPrice.model_name,
                MarketPrice.effective_date,
                MarketPrice.event_type,
                MarketPrice.input_usd_per_million,
                MarketPrice.output_usd_per_million,
            )
            .order_by(MarketPrice.effective_date.desc(), MarketPrice.id.desc())
            .limit(MARKET_CHART_POINTS)
        )
    ][::-1]
    chart = market_prices_chart(points, total=total)
    return chart, chart_html(chart)


# Price-floor alerts for the banner: computed once per state of what they read (scenarios, market prices and,
# through the cost engine, models, accelerators and price quotes) and per day, not per render.
_ALERT_SUMMARIES = BoundedCache(8)


def _alert_summary(session: Session) -> dict[str, object] | None:
    key = (
        database_of(session),
        date.today(),
        *stamp(session, Scenario, MarketPrice, ModelConfig, Accelerator, PriceQuote),
    )

    def compute() -> dict[str, object] | None:
        items, _problems = alerts.alerts(session)
        if not items:
            return None
        return {"count": len(items), "deepest": items[0], "scenarios": len({a.scenario_id for a in items})}

    return _ALERT_SUMMARIES.get_or_compute(key, compute)


@router.get("/", response_class=HTMLResponse)
def home(request: Request, session: SessionDep) -> HTMLResponse:
    # One round trip: the six counts and the market prices' stamp.
    # The counts and the stamp are kept by triggers (table_stats): primary-key reads, never table scans.
    values = session.execute(
        select(
            *(table_stat_columns(model)[0] for _, model, _ in COUNTED),
            *table_stat_columns(MarketPrice),
        )
    ).one()
    counts = {label: (values[i], href) for i, (label, _, href) in enumerate(COUNTED)}
    market_key = (database_of(session), *values[len(COUNTED) :])
    market_chart, market_html = _MARKET_CHARTS.get_or_compute(
        market_key, lambda: _market_chart(session, counts["market prices"][0])
    )
    context = {
        "active_nav": "overview",
        "counts": counts,
        "market_chart": market_chart,
        "market_chart_html": market_html,
        "alert_summary": _alert_summary(session),
    }
    context.update(overview_headline.headline(request, session))
    return render(request, "home.html", context)
