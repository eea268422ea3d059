"""What a price-war scenario holds: our firm, its rivals, the market and the uncertainty around them.

Everything is a frozen dataclass; `Scenario.__post_init__` validates the whole tree and names the offending
field with a dotted path (``rivals[2].price_usd_per_million_tokens``). Prices are USD per 1M output tokens,
volumes million tokens per month, months are numbered from 1 (month 1 is the first simulated month).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Literal, get_args

from app.engine.market.errors import ScenarioError

MAX_PATHS = 100_000
MAX_HORIZON_MONTHS = 120
MAX_RIVALS = 20
MAX_CUTS_PER_RIVAL = 12
# Caps that keep every formula finite; anything beyond them is a typo, not a plan.
MAX_USD_PER_MILLION_TOKENS = 1e6
MAX_USD = 1e15
MAX_MILLION_TOKENS_PER_MONTH = 1e15

RangeKind = Literal["fixed", "uniform", "triangular", "lognormal"]
OurRule = Literal["hold", "match", "undercut", "floor", "premium", "best_response"]
RivalRule = Literal["hold", "match", "undercut", "best_response", "script"]
RivalCostDecline = Literal["ours", "market"]

OUR_RULES: tuple[str, ...] = get_args(OurRule)
RIVAL_RULES: tuple[str, ...] = get_args(RivalRule)
RANGE_KINDS: tuple[str, ...] = ("fixed", "uniform", "triangular", "lognormal")


@dataclass(frozen=True)
class Range:
    """An input that may be unknown: fixed, uniform(low, high), triangular(low, mode, high) or lognormal.

    For a lognormal, `low` and `high` are the 5th and 95th percentiles (the median is their geometric mean),
    which is how people usually state "somewhere between 3x and 40x".
    """

    kind: RangeKind
    low: float
    mode: float
    high: float

    @staticmethod
    def fixed(value: float) -> Range:
        return Range("fixed", value, value, value)

    @staticmethod
    def triangular(low: float, mode: float, high: float) -> Range:
        return Range("triangular", low, mode, high)

    @staticmethod
    def uniform(low: float, high: float) -> Range:
        return Range("uniform", low, (low + high) / 2, high)

    @staticmethod
    def lognormal(low: float, high: float) -> Range:
        return Range("lognormal", low, math.sqrt(low * high) if low > 0 and high > 0 else low, high)

    @property
    def is_fixed(self) -> bool:
        return self.kind == "fixed" or self.low == self.high

    @property
    def central(self) -> float:
        """The value used when uncertainty is switched off: the mode (median for a lognormal)."""
        return self.mode


@dataclass(frozen=True)
class FundingEvent:
    month: int
    amount_usd: float


@dataclass(frozen=True)
class PricingPolicy:
    """Our price each month. Reactive rules look at rivals' prices of the previous month (one-month lag).

    hold: keep today's price. match: follow the lowest rival price's moves in percent (a 50 % cut by the
    cheapest rival makes us cut 50 %; never above today's price). undercut: the lowest rival price
    x (1 - undercut_fraction); 0 meets it. floor: unit cost x (1 + floor margin). premium: the
    quality-adjusted lowest rival price (rival price + quality gap x utility per point / price
    sensitivity) x (1 + premium). best_response: each month a damped step (best_response_damping_fraction of
    the way) toward the price that maximises our gross profit against the rivals' prices of that month, from
    the same demand model (app/engine/market/demand.py). Every rule except hold is clamped at the floor,
    unit cost x (1 + floor_margin_fraction).
    """

    rule: OurRule = "hold"
    undercut_fraction: float = 0.10
    floor_margin_fraction: float = 0.0
    premium_fraction: float = 0.0
    best_response_damping_fraction: float = 0.5


@dataclass(frozen=True)
class Firm:
    """Our firm. Strategies override the unit cost, the one-off spend and the quality delta."""

    price_usd_per_million_tokens: float
    unit_cost_usd_per_million_tokens: float
    fixed_costs_usd_per_month: float
    starting_cash_usd: float
    start_share_fraction: float
    name: str = "Us"
    # Hardware and software progress: c(t) = c0 * k^(-t/12); k = 1 flat, k = 2 halves each year.
    cost_decline_per_year: Range = field(default_factory=lambda: Range.fixed(1.0))
    # GPU price / unit cost uncertainty: multiplies every strategy's unit cost on a path.
    unit_cost_multiplier: Range = field(default_factory=lambda: Range.fixed(1.0))
    one_off_training_usd: float = 0.0
    training_spend_months: int = 1  # the one-off outlay is paid evenly over the first N months
    amortisation_months: int = 24  # accounting: the one-off spend is charged to profit over N months
    funding: tuple[FundingEvent, ...] = ()
    capacity_million_tokens_per_month: float | None = None
    capacity_gpu_count: float | None = None  # with a strategy's tokens/s per GPU -> capacity
    capacity_utilisation_fraction: float = 0.6
    quality_points: float = 0.0
    pricing: PricingPolicy = field(default_factory=PricingPolicy)


@dataclass(frozen=True)
class PriceCut:
    """A dated cut: from `month` on, the rival's list price is multiplied by (1 - cut_fraction)."""

    month: Range
    cut_fraction: Range


@dataclass(frozen=True)
class Rival:
    """A competitor. Its floor is its unit cost, or unit cost x (1 - subsidy) while its subsidy budget lasts.

    Rules (each month, reacting to last month's prices; the result is never below the floor):
    hold: its list price x the market trend (price_decline_per_year) x its dated cuts;
    script: the same (hold with cuts); match: follow the lowest competing price's moves in percent,
    never above its hold price; undercut: the lowest competing price x (1 - undercut_fraction), never
    above its hold price; best_response: a damped step toward its profit-maximising price against last
    month's prices, p = c + D / (alpha (1 - (1 - kappa) s)) (app/engine/market/demand.py).
    """

    name: str
    price_usd_per_million_tokens: float
    unit_cost_usd_per_million_tokens: Range
    start_share_fraction: float
    rule: RivalRule = "hold"
    undercut_fraction: float = 0.10
    subsidy_budget_usd: float = 0.0
    subsidy_fraction: float = 0.0  # how far below unit cost it may price while the budget lasts
    quality_points: float = 0.0
    cuts: tuple[PriceCut, ...] = ()
    best_response_damping_fraction: float = 0.5


@dataclass(frozen=True)
class Market:
    """Demand: a constant-elasticity total market around a pure switching logit (app/engine/market/demand.py,
    docs/methodology/market-model.md).

    `market_elasticity` (e_m) moves the whole market when the market's price index moves;
    `switching_elasticity` (e_s) is every firm's own-price elasticity of share at today's prices and sets
    each firm's price coefficient alpha_j = -e_s / (p_j0 (1 - s_j0)) (never from which firm is "us").
    Prices enter the logit deflated by the market's price level d^(-t/12): when every list price follows
    the market's decline, shares stay put, and a price held still loses share as the market deflates.
    Other providers (the fringe) hold the share the named firms do not (1 - ours - rivals') at the market's
    going price. Consistency: the market may be no more elastic than switching (kappa = -e_m / eta <= 1).
    """

    volume_million_tokens_per_month: float
    market_elasticity: Range = field(default_factory=lambda: Range.fixed(-0.5))
    switching_elasticity: Range = field(default_factory=lambda: Range.fixed(-1.1))
    demand_growth_per_year_fraction: Range = field(default_factory=lambda: Range.fixed(0.0))
    # "LLMflation": list prices at constant capability fall d-fold a year; moves rivals' anchor prices.
    price_decline_per_year: Range = field(default_factory=lambda: Range.fixed(1.0))
    # Rivals' unit costs fall like ours ("ours": shared hardware progress, c0 k^(-t/12)) or like the market's
    # list prices ("market": the LLMflation reading, costs at constant capability fall d-fold a year).
    rival_cost_decline: RivalCostDecline = "ours"
    inertia_per_month_fraction: float = 0.5  # lambda: share of the gap to the new shares closed per month
    quality_utility_per_point: float = 0.05


@dataclass(frozen=True)
class Scenario:
    firm: Firm
    market: Market
    rivals: tuple[Rival, ...] = ()
    horizon_months: int = 36
    paths_count: int = 1_000
    seed: int = 0
    name: str = ""

    def __post_init__(self) -> None:
        validate_scenario(self)

    @property
    def outside_share_fraction(self) -> float:
        return 1.0 - self.firm.start_share_fraction - sum(r.start_share_fraction for r in self.rivals)


@dataclass(frozen=True)
class Strategy:
    """One way of building and serving the model: what it costs per token, up front, and in quality."""

    name: str
    unit_cost_usd_per_million_tokens: float
    one_off_training_usd: float = 0.0
    quality_delta_points: float = 0.0
    serving_tokens_per_s_per_gpu: float | None = None
    levers: frozenset[str] = frozenset()


def baseline_strategy(scenario: Scenario) -> Strategy:
    """The firm as described, with no lever pulled."""
    return Strategy(
        name="baseline",
        unit_cost_usd_per_million_tokens=scenario.firm.unit_cost_usd_per_million_tokens,
        one_off_training_usd=scenario.firm.one_off_training_usd,
    )


# --- validation --------------------------------------------------------------------------------------------


def _finite(path: str, value: float) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ScenarioError(path, f"must be a finite number, got {value!r}")


def _at_least(path: str, value: float, low: float, *, strict: bool = False) -> None:
    _finite(path, value)
    if value < low or (strict and value == low):
        raise ScenarioError(path, f"must be {'>' if strict else '>='} {low}, got {value}")


def _between(path: str, value: float, low: float, high: float) -> None:
    _finite(path, value)
    if not low <= value <= high:
        raise ScenarioError(path, f"must be between {low} and {high}, got {value}")


def _int_between(path: str, value: int, low: int, high: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ScenarioError(path, f"must be a whole number, got {value!r}")
    if not low <= value <= high:
        raise ScenarioError(path, f"must be between {low} and {high}, got {value}")


def validate_range(
    path: str, r: Range, *, low: float = -math.inf, high: float = math.inf, positive: bool = False
) -> None:
    if not isinstance(r, Range):
        raise ScenarioError(path, f"must be a number or a range, got {r!r}")
    if r.kind not in RANGE_KINDS:
        raise ScenarioError(path, f"unknown distribution {r.kind!r}; use one of {', '.join(RANGE_KINDS)}")
    for name, v in (("low", r.low), ("mode", r.mode), ("high", r.high)):
        _finite(f"{path}.{name}", v)
        if positive and v <= 0:
            raise ScenarioError(f"{path}.{name}", f"must be > 0, got {v}")
        if not low <= v <= high:
            raise ScenarioError(f"{path}.{name}", f"must be between {low} and {high}, got {v}")
    if r.kind == "fixed" and not r.low == r.mode == r.high:
        raise ScenarioError(path, "a fixed value needs low == mode == high")
    if not r.low <= r.mode <= r.high:
        raise ScenarioError(path, f"needs low <= mode <= high, got {r.low}, {r.mode}, {r.high}")
    if r.kind == "lognormal" and r.low <= 0:
        raise ScenarioError(
            f"{path}.low", "a lognormal range needs low > 0 (use triangular for signed values)"
        )


def validate_scenario(s: Scenario) -> None:
    _int_between("horizon_months", s.horizon_months, 1, MAX_HORIZON_MONTHS)
    _int_between("paths_count", s.paths_count, 1, MAX_PATHS)
    _int_between("seed", s.seed, 0, 2**63 - 1)
    if len(s.rivals) > MAX_RIVALS:
        raise ScenarioError("rivals", f"at most {MAX_RIVALS} rivals, got {len(s.rivals)}")

    f = s.firm
    _at_least("firm.price_usd_per_million_tokens", f.price_usd_per_million_tokens, 0, strict=True)
    _between(
        "firm.price_usd_per_million_tokens", f.price_usd_per_million_tokens, 0, MAX_USD_PER_MILLION_TOKENS
    )
    _between(
        "firm.unit_cost_usd_per_million_tokens",
        f.unit_cost_usd_per_million_tokens,
        0,
        MAX_USD_PER_MILLION_TOKENS,
    )
    _between("firm.fixed_costs_usd_per_month", f.fixed_costs_usd_per_month, 0, MAX_USD)
    _between("firm.starting_cash_usd", f.starting_cash_usd, -MAX_USD, MAX_USD)
    _between("firm.start_share_fraction", f.start_share_fraction, 0, 1)
    if f.start_share_fraction == 0:
        raise ScenarioError("firm.start_share_fraction", "must be > 0 (the logit is calibrated on it)")
    validate_range("firm.cost_decline_per_year", f.cost_decline_per_year, low=0.01, high=1000, positive=True)
    validate_range("firm.unit_cost_multiplier", f.unit_cost_multiplier, low=0, high=100, positive=True)
    _between("firm.one_off_training_usd", f.one_off_training_usd, 0, MAX_USD)
    _int_between("firm.training_spend_months", f.training_spend_months, 1, MAX_HORIZON_MONTHS)
    _int_between("firm.amortisation_months", f.amortisation_months, 1, 600)
    for i, ev in enumerate(f.funding):
        _int_between(f"firm.funding[{i}].month", ev.month, 1, s.horizon_months)
        _between(f"firm.funding[{i}].amount_usd", ev.amount_usd, -MAX_USD, MAX_USD)
    if f.capacity_million_tokens_per_month is not None:
        _between(
            "firm.capacity_million_tokens_per_month",
            f.capacity_million_tokens_per_month,
            0,
            MAX_MILLION_TOKENS_PER_MONTH,
        )
    if f.capacity_gpu_count is not None:
        _between("firm.capacity_gpu_count", f.capacity_gpu_count, 0, 1e9)
    _between("firm.capacity_utilisation_fraction", f.capacity_utilisation_fraction, 0, 1)
    _between("firm.quality_points", f.quality_points, -1000, 1000)
    p = f.pricing
    if p.rule not in OUR_RULES:
        raise ScenarioError(
            "firm.pricing.rule", f"unknown rule {p.rule!r}; use one of {', '.join(OUR_RULES)}"
        )
    _between("firm.pricing.undercut_fraction", p.undercut_fraction, 0, 1)
    _between("firm.pricing.floor_margin_fraction", p.floor_margin_fraction, -1, 100)
    _between("firm.pricing.premium_fraction", p.premium_fraction, -1, 100)
    _between("firm.pricing.best_response_damping_fraction", p.best_response_damping_fraction, 0, 1)
    if p.best_response_damping_fraction == 0:
        raise ScenarioError("firm.pricing.best_response_damping_fraction", "must be > 0 (0 never moves)")

    m = s.market
    _at_least("market.volume_million_tokens_per_month", m.volume_million_tokens_per_month, 0, strict=True)
    _between(
        "market.volume_million_tokens_per_month",
        m.volume_million_tokens_per_month,
        0,
        MAX_MILLION_TOKENS_PER_MONTH,
    )
    validate_range("market.market_elasticity", m.market_elasticity, low=-10, high=0)
    validate_range("market.switching_elasticity", m.switching_elasticity, low=-50, high=0)
    if m.switching_elasticity.high >= 0:
        raise ScenarioError("market.switching_elasticity", "must be < 0 (customers prefer cheaper offers)")
    validate_range(
        "market.demand_growth_per_year_fraction", m.demand_growth_per_year_fraction, low=-0.99, high=100
    )
    validate_range(
        "market.price_decline_per_year", m.price_decline_per_year, low=0.01, high=1000, positive=True
    )
    if m.rival_cost_decline not in ("ours", "market"):
        raise ScenarioError(
            "market.rival_cost_decline", f"must be ours or market, got {m.rival_cost_decline!r}"
        )
    _between("market.inertia_per_month_fraction", m.inertia_per_month_fraction, 0, 1)
    if m.inertia_per_month_fraction == 0:
        raise ScenarioError("market.inertia_per_month_fraction", "must be > 0 (0 would freeze every share)")
    _between("market.quality_utility_per_point", m.quality_utility_per_point, -10, 10)

    names = {f.name}
    for i, r in enumerate(s.rivals):
        path = f"rivals[{i}]"
        if not r.name or r.name in names:
            raise ScenarioError(f"{path}.name", f"must be non-empty and unique, got {r.name!r}")
        names.add(r.name)
        _between(
            f"{path}.price_usd_per_million_tokens",
            r.price_usd_per_million_tokens,
            0,
            MAX_USD_PER_MILLION_TOKENS,
        )
        validate_range(
            f"{path}.unit_cost_usd_per_million_tokens",
            r.unit_cost_usd_per_million_tokens,
            low=0,
            high=MAX_USD_PER_MILLION_TOKENS,
        )
        _between(f"{path}.start_share_fraction", r.start_share_fraction, 0, 1)
        if r.start_share_fraction == 0:
            raise ScenarioError(f"{path}.start_share_fraction", "must be > 0 (the logit is calibrated on it)")
        if r.rule not in RIVAL_RULES:
            raise ScenarioError(
                f"{path}.rule", f"unknown rule {r.rule!r}; use one of {', '.join(RIVAL_RULES)}"
            )
        _between(f"{path}.undercut_fraction", r.undercut_fraction, 0, 1)
        _between(f"{path}.subsidy_budget_usd", r.subsidy_budget_usd, 0, MAX_USD)
        _between(f"{path}.subsidy_fraction", r.subsidy_fraction, 0, 1)
        _between(f"{path}.quality_points", r.quality_points, -1000, 1000)
        _between(f"{path}.best_response_damping_fraction", r.best_response_damping_fraction, 0, 1)
        if len(r.cuts) > MAX_CUTS_PER_RIVAL:
            raise ScenarioError(f"{path}.cuts", f"at most {MAX_CUTS_PER_RIVAL} cuts, got {len(r.cuts)}")
        for j, cut in enumerate(r.cuts):
            validate_range(f"{path}.cuts[{j}].month", cut.month, low=1, high=s.horizon_months)
            validate_range(f"{path}.cuts[{j}].cut_fraction", cut.cut_fraction, low=-10, high=1)
    if s.outside_share_fraction < -1e-9:
        raise ScenarioError(
            "rivals", f"start shares (ours + rivals') add up to {1 - s.outside_share_fraction:.4f} > 1"
        )
    _validate_consistency(s)


def _validate_consistency(s: Scenario) -> None:
    """The total market may respond to prices no more than switching does (kappa <= 1), at the corner of the
    ranges where that is hardest: otherwise a rival's cut would raise our sales (see demand.py)."""
    from app.engine.market.demand import calibrate

    e_s, e_m = s.market.switching_elasticity.high, s.market.market_elasticity.low
    prices = [s.firm.price_usd_per_million_tokens] + [r.price_usd_per_million_tokens for r in s.rivals]
    shares = [s.firm.start_share_fraction] + [r.start_share_fraction for r in s.rivals]
    kappa = float(calibrate(prices, shares, e_s, e_m).kappa[0])
    if kappa > 1.0 + 1e-9:
        limit = -e_m / kappa
        raise ScenarioError(
            "market.market_elasticity",
            f"the total market ({e_m:g} at its most elastic) may be at most as elastic as switching allows "
            f"(about {-limit:.3g} with switching elasticity {e_s:g} and these shares): a market more elastic "
            "than switching would make a rival's price cut raise our sales",
        )


def validate_strategies(strategies: tuple[Strategy, ...] | list[Strategy]) -> None:
    if not strategies:
        raise ScenarioError("strategies", "at least one strategy is needed")
    if len(strategies) > 64:
        raise ScenarioError("strategies", f"at most 64 strategies, got {len(strategies)}")
    seen: set[str] = set()
    for i, st in enumerate(strategies):
        path = f"strategies[{i}]"
        if not st.name or st.name in seen:
            raise ScenarioError(f"{path}.name", f"must be non-empty and unique, got {st.name!r}")
        seen.add(st.name)
        _between(
            f"{path}.unit_cost_usd_per_million_tokens",
            st.unit_cost_usd_per_million_tokens,
            0,
            MAX_USD_PER_MILLION_TOKENS,
        )
        _between(f"{path}.one_off_training_usd", st.one_off_training_usd, 0, MAX_USD)
        _between(f"{path}.quality_delta_points", st.quality_delta_points, -1000, 1000)
        if st.serving_tokens_per_s_per_gpu is not None:
            _between(f"{path}.serving_tokens_per_s_per_gpu", st.serving_tokens_per_s_per_gpu, 0, 1e12)
