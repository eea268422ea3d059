"""Price-floor alerts: the market prices, in the comparable set a scenario names, that sit at or below that
scenario's price floor — computed from what is stored now, never cached.

A scenario's floor is our unit cost per 1M output tokens (the cost engine's baseline figure when the
scenario names a model and an accelerator, else the scenario's own) × (1 + the floor margin of our pricing
policy): below it each token sold loses money. A market price is compared by its output price per 1M
tokens, the unit the simulator's prices are in. `since` is the first date of the unbroken run of that
model's dated prices at or below the floor."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import and_, func, select, tuple_
from sqlalchemy.orm import Session

from app.db.models import MarketPrice
from app.db.models import Scenario as ScenarioRow
from app.services import simulations
from app.services.errors import ServiceError


@dataclass(frozen=True)
class Floor:
    scenario_id: int
    scenario_name: str
    usd_per_million: float
    basis: str


@dataclass(frozen=True)
class Alert:
    scenario_id: int
    scenario_name: str
    market_price_id: int
    model_name: str
    provider: str
    price_usd_per_million: float
    our_floor_usd_per_million: float
    gap_fraction: float  # (floor − price) ÷ floor: how far under our floor the rival sells
    since: date


def scenario_floor(session: Session, row: ScenarioRow) -> Floor:
    resolved = simulations.resolve(session, {"scenario_id": row.id})
    firm = resolved.preset.scenario.firm
    margin = firm.pricing.floor_margin_fraction
    basis = "cost engine" if resolved.strategies_source == "cost engine" else "scenario inputs"
    return Floor(row.id, row.name, firm.unit_cost_usd_per_million_tokens * (1.0 + margin), basis)


def current_market_prices(session: Session) -> list[MarketPrice]:
    """The newest dated price of every (provider, model): one grouped query, not the whole history."""
    newest = (
        select(
            MarketPrice.provider,
            MarketPrice.model_name,
            func.max(MarketPrice.effective_date).label("effective_date"),
        )
        .group_by(MarketPrice.provider, MarketPrice.model_name)
        .subquery()
    )
    query = (
        select(MarketPrice)
        .join(
            newest,
            and_(
                MarketPrice.provider == newest.c.provider,
                MarketPrice.model_name == newest.c.model_name,
                MarketPrice.effective_date == newest.c.effective_date,
            ),
        )
        .order_by(MarketPrice.provider, MarketPrice.model_name, MarketPrice.id.desc())
    )
    seen: set[tuple[str, str]] = set()
    rows = []
    for row in session.scalars(query):
        if (row.provider, row.model_name) not in seen:  # two rows on one day: the later id wins
            seen.add((row.provider, row.model_name))
            rows.append(row)
    return rows


def in_comparable_set(row: MarketPrice, comparable_set: dict[str, Any] | None) -> bool:
    if not comparable_set:
        return True
    providers = comparable_set.get("providers") or []
    if providers and row.provider not in providers:
        return False
    needle = (comparable_set.get("model_name_contains") or "").lower()
    if needle and needle not in row.model_name.lower():
        return False
    low, high = comparable_set.get("min_capability_score"), comparable_set.get("max_capability_score")
    if low is not None or high is not None:
        if row.capability_score is None:
            return False  # a band was asked for: an unrated model is not known to be comparable
        if low is not None and row.capability_score < low:
            return False
        if high is not None and row.capability_score > high:
            return False
    return True


def alerts(session: Session, scenario_ids: Iterable[int] | None = None) -> tuple[list[Alert], list[str]]:
    """Every market price at or below a scenario's floor, deepest gap first; and the scenarios that could
    not be priced (with the reason) rather than silently left out."""
    query = select(ScenarioRow).order_by(ScenarioRow.id)
    if scenario_ids is not None:
        query = query.where(ScenarioRow.id.in_(list(scenario_ids)))
    scenarios = list(session.scalars(query))
    prices = current_market_prices(session)
    problems: list[str] = []
    found: list[tuple[Floor, MarketPrice]] = []
    for row in scenarios:
        try:
            floor = scenario_floor(session, row)
        except ServiceError as error:
            problems.append(f"scenario {row.id} ({row.name}): {error.message}")
            continue
        for price in prices:
            if price.output_usd_per_million <= floor.usd_per_million and in_comparable_set(
                price, row.comparable_set
            ):
                found.append((floor, price))
    since = _since(session, found)
    items = [
        Alert(
            scenario_id=floor.scenario_id,
            scenario_name=floor.scenario_name,
            market_price_id=price.id,
            model_name=price.model_name,
            provider=price.provider,
            price_usd_per_million=price.output_usd_per_million,
            our_floor_usd_per_million=floor.usd_per_million,
            gap_fraction=(floor.usd_per_million - price.output_usd_per_million) / floor.usd_per_million
            if floor.usd_per_million > 0
            else 0.0,
            since=since[(floor.scenario_id, price.provider, price.model_name)],
        )
        for floor, price in found
    ]
    items.sort(key=lambda a: (-a.gap_fraction, a.scenario_id, a.provider, a.model_name))
    return items, problems


def _since(session: Session, found: list[tuple[Floor, MarketPrice]]) -> dict[tuple[int, str, str], date]:
    """For each alert, the first date of the unbroken run of prices at or below the floor up to now."""
    keys = {(price.provider, price.model_name) for _, price in found}
    history: dict[tuple[str, str], list[MarketPrice]] = defaultdict(list)
    if keys:
        query = (
            select(MarketPrice)
            .where(tuple_(MarketPrice.provider, MarketPrice.model_name).in_(sorted(keys)))
            .order_by(MarketPrice.effective_date.desc(), MarketPrice.id.desc())
        )
        for row in session.scalars(query):
            history[(row.provider, row.model_name)].append(row)
    result: dict[tuple[int, str, str], date] = {}
    for floor, price in found:
        start = price.effective_date
        for row in history[(price.provider, price.model_name)]:
            if row.output_usd_per_million > floor.usd_per_million:
                break
            start = row.effective_date
        result[(floor.scenario_id, price.provider, price.model_name)] = start
    return result
