"""The month-by-month price war, vectorised over strategies (S) and Monte Carlo paths (P).

One loop runs over months; everything inside works on (S, P) arrays for us and (R, S, P) for the rivals. Each
month is five named steps over a small state (`_State`), with the constants of the group in `_Group`
(equations and assumptions: docs/methodology/market-model.md):

1. `_set_prices`. Reactive rules (ours and rivals') look at everyone's prices of month t-1 (a one-month
   reaction lag; month 1 reacts to today's prices). Scripted cuts dated month t apply in month t. Every rival
   is held at its floor: unit cost, or unit cost x (1 - subsidy) while its subsidy budget lasts. Our
   best_response is a damped step toward the price maximising our gross profit against the rivals' prices
   of this month (demand.best_response_price), never below the floor the user sets.
2. `_demand`. One demand system (app/engine/market/demand.py): a pure switching logit among every seller
   (us, the rivals, other providers) with prices deflated by the market's price level D(t) = d^(-(t-1)/12),
   realised shares closing a fraction lambda of the gap each month, inside a total market
   Q(t) = Q0 exp(kappa IV(t)) (1 + g)^((t-1)/12) that moves with the logit's own price index (in prices
   relative to the going rate: the growth g is stated at the going rate, so the market's own price decline
   is not counted a second time as expansion).
3. `_sales`. We sell min(demand, capacity); unmet demand spills to the rivals in proportion to their shares.
   Rivals' below-cost losses drain their subsidy budgets.
4. `_money`. cash(t) = cash(t-1) + (p - c) sales - F - training outlay(t) + funding(t). Death is the first
   month with cash < 0 and is absorbing; cash keeps being accounted after death so its bands show how deep.
5. `_record` (`_Recorder.record`). Percentile bands of the month, sorted on a helper thread.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np

from app.engine.market.closed_forms import strategy_closed_forms
from app.engine.market.demand import best_response_price, calibrate
from app.engine.market.errors import ScenarioError
from app.engine.market.sampling import PathInputs, draw_uniforms, sample_inputs
from app.engine.market.scenario import Scenario, Strategy, validate_strategies
from app.engine.market.summary import (
    QUANTILES,
    Bands,
    MarketShares,
    SimulationResult,
    StrategyResult,
    median_month,
    quantile_bands,
    rival_stamina,
    round_significant,
)

HOURS_PER_MONTH = 730.0  # 8,760 h / 12
_GROUP_ELEMENTS = 40_000  # strategies x paths simulated together
_THREAD_ELEMENTS = 20_000  # below this, a sorting thread costs more than it saves
_MARGIN_CLIP = -10.0  # gross margin fraction is clipped below at -1,000 % (a price near zero)
# Every firm's share of all demand (ours, each rival's, the outside option's) is summarised by its median
# over the first paths only: paths are independent draws, and sorting 2 + R more series over all paths
# every month would cost a third more time on the 10,000-path runs for a display series.
SHARE_SAMPLE_PATHS = 2_000
WARM_STEPS = 2  # Newton steps for our best response from last month's root (the first month takes 8)


def capacity_million_tokens_per_month(scenario: Scenario, strategies: tuple[Strategy, ...]) -> np.ndarray:
    """Sales ceiling per strategy: the firm's stated capacity, or GPUs x tokens/s x hours x utilisation."""
    firm = scenario.firm
    out = np.full(len(strategies), np.inf)
    if firm.capacity_million_tokens_per_month is not None:
        out[:] = firm.capacity_million_tokens_per_month
    if firm.capacity_gpu_count is not None:
        for i, st in enumerate(strategies):
            if st.serving_tokens_per_s_per_gpu is None:
                raise ScenarioError(
                    f"strategies[{i}].serving_tokens_per_s_per_gpu",
                    "is needed when firm.capacity_gpu_count is set",
                )
            gpu_cap = (
                firm.capacity_gpu_count
                * st.serving_tokens_per_s_per_gpu
                * 3600.0
                * HOURS_PER_MONTH
                * firm.capacity_utilisation_fraction
                / 1e6
            )
            out[i] = min(out[i], gpu_cap)
    return out


def run_simulation(
    scenario: Scenario,
    strategies: tuple[Strategy, ...] | list[Strategy],
    rng: np.random.Generator,
    *,
    paths_count: int | None = None,
    keep_cash_paths: bool = False,
    progress: Callable[[int, int], None] | None = None,
) -> SimulationResult:
    """Draw the uncertain inputs once and run every strategy on the same paths. `progress(done, total)`,
    when given, is called after each group of strategies (it may raise to stop the run)."""
    n_paths = scenario.paths_count if paths_count is None else paths_count
    if isinstance(n_paths, bool) or not isinstance(n_paths, int) or not 1 <= n_paths <= 100_000:
        raise ScenarioError("paths_count", f"must be between 1 and 100000, got {n_paths!r}")
    inputs = sample_inputs(scenario, draw_uniforms(scenario, n_paths, rng))
    return simulate(scenario, tuple(strategies), inputs, keep_cash_paths=keep_cash_paths, progress=progress)


def simulate(
    scenario: Scenario,
    strategies: tuple[Strategy, ...],
    inputs: PathInputs,
    *,
    keep_cash_paths: bool = False,
    progress: Callable[[int, int], None] | None = None,
) -> SimulationResult:
    """Deterministic given the per-path inputs: the core every public entry point calls.

    Strategies never interact, so they run in groups of about _GROUP_ELEMENTS strategy-paths: arrays that
    size stay in the CPU cache (measured ~30 % faster than one 16 x 10,000 block on the 2-core target
    machine) while small runs (previews) keep every strategy in one group to save per-call overhead.
    """
    validate_strategies(strategies)
    capacity_million_tokens_per_month(scenario, strategies)  # fail early, naming the strategy
    group = max(1, _GROUP_ELEMENTS // inputs.paths_count)
    cost_bands = unit_cost_factor_bands(inputs, scenario.horizon_months)
    top_q = max(
        st.quality_delta_points for st in strategies
    )  # the logit's overflow guard sees every strategy
    starts = range(0, len(strategies), group)
    parts = []
    for k, i in enumerate(starts):
        parts.append(
            _simulate_group(
                scenario,
                strategies[i : i + group],
                inputs,
                keep_cash_paths=keep_cash_paths,
                max_quality_delta=top_q,
                cost_bands=cost_bands,
            )
        )
        if progress is not None:
            progress(k + 1, len(starts))
    cash_paths = None
    if keep_cash_paths:
        cash_paths = np.concatenate([p.cash_paths_usd for p in parts if p.cash_paths_usd is not None], axis=0)
    return SimulationResult(
        horizon_months=parts[0].horizon_months,
        paths_count=parts[0].paths_count,
        rival_names=parts[0].rival_names,
        strategies=tuple(s for p in parts for s in p.strategies),
        rival_stamina=parts[0].rival_stamina,
        cash_paths_usd=cash_paths,
    )


def unit_cost_factor_bands(inputs: PathInputs, horizon_months: int) -> np.ndarray:
    """Percentiles over paths of our unit cost relative to the strategy's stated figure, by month: shape
    (5, T). A path's unit cost in month t (1-based) is c0 x multiplier x k^(-(t-1)/12); c0 >= 0 is per
    strategy and scales every percentile, so one sort serves all strategies. Without uncertainty in the
    multiplier or the decline rate every band is the single path's value (no sort)."""
    years = np.arange(horizon_months) / 12.0
    mult, log_k = inputs.unit_cost_multiplier, np.log(inputs.cost_decline_per_year)
    if np.ptp(log_k) == 0.0:  # the decline is certain: the multiplier's percentiles, scaled each month
        factor = np.exp(-years * log_k[0])
        if np.ptp(mult) == 0.0:
            return np.broadcast_to(mult[0] * factor, (len(QUANTILES), horizon_months)).copy()
        scaled: np.ndarray = quantile_bands(mult, fast=False)[:, None] * factor[None, :]
        return scaled
    paths = mult[None, :] * np.exp(-years[:, None] * log_k[None, :])  # (T, P)
    return quantile_bands(paths, fast=False).T


def _median_last(values: np.ndarray) -> np.ndarray:
    """Median over the last axis (float32 sort, as the display bands; linear interpolation)."""
    ordered = values.astype(np.float32)
    ordered.sort(axis=-1)
    n = ordered.shape[-1]
    lo, hi = (n - 1) // 2, n // 2
    return round_significant((ordered[..., lo].astype(float) + ordered[..., hi].astype(float)) / 2.0, 7)


def _simulate_group(
    scenario: Scenario,
    strategies: tuple[Strategy, ...],
    inputs: PathInputs,
    *,
    keep_cash_paths: bool,
    max_quality_delta: float,
    cost_bands: np.ndarray,
) -> SimulationResult:
    """One group of strategies; big groups sort their percentile bands on a helper thread."""
    args = (scenario, strategies, inputs, keep_cash_paths, max_quality_delta, cost_bands)
    if len(strategies) * inputs.paths_count < _THREAD_ELEMENTS:
        return _run_group(*args, None)
    with ThreadPoolExecutor(max_workers=1) as pool:  # waits for the last sorts, even on an error
        return _run_group(*args, pool)


@dataclass
class _Group:
    """What stays fixed over the months for one group of strategies: (S, 1), (P,) or (S, P) arrays."""

    scenario: Scenario
    n_s: int
    n_p: int
    shape: tuple[int, int]
    unit_cost0: np.ndarray
    one_off: np.ndarray
    quality_delta: np.ndarray
    capacity: np.ndarray
    outlay_per_month: np.ndarray
    amortisation_per_month: np.ndarray
    funding: np.ndarray
    log_k: np.ndarray
    log_d: np.ndarray
    log_growth: np.ndarray
    e_market: np.ndarray
    elastic: bool
    alpha_us: np.ndarray  # (P,) our price coefficient per $ of deflated price
    alpha_r: list[np.ndarray]  # (P,) each rival's
    kappa: np.ndarray  # (P,) market expansion per unit of inclusive value
    shift: np.ndarray  # (P,) overflow guard: every weight is exp(utility - shift)
    a_us: np.ndarray  # (S, P) our brand constant (with the strategy's quality change), minus shift
    a_r: list[np.ndarray]  # (P,) rivals' brand constants minus shift
    w_out: np.ndarray  # (P,) the fringe's weight (its deflated price never moves)
    cost_base: np.ndarray  # (S, P) our unit cost in month 1
    rival_cost0: list[np.ndarray]
    cut_month: list[np.ndarray]
    cut_keep: list[np.ndarray]
    subsidised: list[bool]
    tracked: list[bool]
    reactive: bool
    sum_order: list[int]
    others0: list[float]
    lowest_rival0: float
    n_x: int
    lam: float


@dataclass
class _State:
    """The war as it stands: carried from month to month, and the month's own values once computed."""

    # Volumes are carried per unit of the reference market M(t) = Q0 (1 + g)^years: x_j = volume_j / M(t).
    # Inertia acts on these volumes (x <- (1 - lambda) x + lambda x*), so the market's expansion and the
    # switching it comes with arrive at the same pace (a cut never lends us the expansion before it takes
    # our customers). X = sum of every seller's x; a firm's share of all sales is x_j / X.
    price: np.ndarray
    r_price: list[np.ndarray]
    share: np.ndarray  # x_us
    r_share: dict[int, np.ndarray]  # x of each tracked (subsidised) rival
    passive_share: np.ndarray  # x of the untracked rivals together
    passive_each: dict[int, np.ndarray]  # x of each untracked rival, display sample only
    budget: list[np.ndarray]
    budget_hit: list[bool]
    cash: np.ndarray
    alive: np.ndarray
    broke_even: np.ndarray
    paid_back: np.ndarray
    cumulative_contribution: np.ndarray
    runway: np.ndarray
    w_r: list[np.ndarray]  # rivals' logit weights at this month's prices (last month's before _demand)
    den: np.ndarray  # sum of every weight at this month's prices
    volume_x: np.ndarray | float = 1.0  # X
    best: np.ndarray | None = None  # our best-response price last month (a warm start for this month's)
    market: np.ndarray = field(default_factory=lambda: np.zeros(1))  # M(t), (P,)
    # the month's values, set by the steps
    years: float = 0.0
    trend: np.ndarray = field(default_factory=lambda: np.ones(1))
    unit_cost: np.ndarray = field(default_factory=lambda: np.zeros(1))
    r_cost: list[np.ndarray] = field(default_factory=list)
    split: dict[int, tuple[np.ndarray, np.ndarray, np.ndarray]] = field(default_factory=dict)
    rivals_w: np.ndarray | float = 0.0
    total: np.ndarray = field(default_factory=lambda: np.zeros(1))
    rivals_share: np.ndarray = field(default_factory=lambda: np.zeros(1))
    demand: np.ndarray = field(default_factory=lambda: np.zeros(1))
    sales: np.ndarray = field(default_factory=lambda: np.zeros(1))
    revenue: np.ndarray = field(default_factory=lambda: np.zeros(1))
    gross: np.ndarray = field(default_factory=lambda: np.zeros(1))


def _prepare(
    scenario: Scenario, strategies: tuple[Strategy, ...], inputs: PathInputs, max_quality_delta: float
) -> tuple[_Group, _State]:
    firm, market, rivals = scenario.firm, scenario.market, scenario.rivals
    n_s, n_p, n_r, n_t = len(strategies), inputs.paths_count, len(rivals), scenario.horizon_months
    shape = (n_s, n_p)
    unit_cost0 = np.array([st.unit_cost_usd_per_million_tokens for st in strategies])[:, None]
    one_off = np.array([st.one_off_training_usd for st in strategies])[:, None]
    quality_delta = np.array([st.quality_delta_points for st in strategies])[:, None]
    funding = np.zeros(n_t)
    for ev in firm.funding:
        funding[ev.month - 1] += ev.amount_usd

    p0, s0 = firm.price_usd_per_million_tokens, firm.start_share_fraction
    demand = calibrate(
        [p0] + [r.price_usd_per_million_tokens for r in rivals],
        [s0] + [r.start_share_fraction for r in rivals],
        inputs.switching_elasticity,
        inputs.market_elasticity,
    )
    gamma = market.quality_utility_per_point
    # Weights w_j = exp(a_j - alpha_j p_j / D + gamma dq - shift); shift keeps them finite whatever the
    # quality change (0 in any realistic scenario: a_j <= ln s_j0 + MAX_PRICE_SEMI_ELASTICITY).
    bound = demand.a.max(axis=0) + gamma * max(max_quality_delta, 0.0)
    shift = np.maximum(bound - 600.0, 0.0)
    a_us = demand.a[0] - shift + gamma * quality_delta  # (S, P)
    a_r = [demand.a[1 + j] - shift for j in range(n_r)]
    w_out = demand.fringe_share_fraction * np.exp(-shift)

    subsidised = [r.subsidy_budget_usd > 0 and r.subsidy_fraction > 0 for r in rivals]
    start_prices = [p0] + [r.price_usd_per_million_tokens for r in rivals]
    group = _Group(
        scenario=scenario,
        n_s=n_s,
        n_p=n_p,
        shape=shape,
        unit_cost0=unit_cost0,
        one_off=one_off,
        quality_delta=quality_delta,
        capacity=capacity_million_tokens_per_month(scenario, strategies)[:, None],
        outlay_per_month=one_off / firm.training_spend_months,
        amortisation_per_month=one_off / firm.amortisation_months,
        funding=funding,
        log_k=np.log(inputs.cost_decline_per_year),
        log_d=np.log(inputs.price_decline_per_year),
        log_growth=np.log1p(inputs.demand_growth_per_year_fraction),
        e_market=inputs.market_elasticity,
        elastic=bool(np.any(inputs.market_elasticity != 0.0)),
        alpha_us=demand.alpha[0],
        alpha_r=[demand.alpha[1 + j] for j in range(n_r)],
        kappa=demand.kappa,
        shift=shift,
        a_us=a_us,
        a_r=a_r,
        w_out=w_out,
        cost_base=unit_cost0 * inputs.unit_cost_multiplier[None, :],
        rival_cost0=[inputs.rival_unit_cost_usd_per_million_tokens[:, j] for j in range(n_r)],
        cut_month=[inputs.rival_cut_month[:, j, : len(r.cuts)] for j, r in enumerate(rivals)],
        cut_keep=[1.0 - inputs.rival_cut_fraction[:, j, : len(r.cuts)] for j, r in enumerate(rivals)],
        subsidised=subsidised,
        # Individual shares are tracked only for rivals with a subsidy budget to drain; the others move as
        # one aggregate, which the linear inertia update allows.
        tracked=subsidised,
        reactive=any(r.rule in ("match", "undercut") for r in rivals),
        # Rivals whose price can never depend on our strategy first (their sums stay per-path arrays).
        sum_order=sorted(
            range(n_r), key=lambda j: (subsidised[j] or rivals[j].rule not in ("hold", "script"), j)
        ),
        others0=[min(start_prices[: j + 1] + start_prices[j + 2 :]) for j in range(n_r)],
        lowest_rival0=min(start_prices[1:], default=0.0),
        n_x=min(n_p, SHARE_SAMPLE_PATHS),
        lam=market.inertia_per_month_fraction,
    )
    w_r0 = [r.start_share_fraction * np.exp(-shift) for r in rivals]
    den0 = np.exp(a_us - demand.alpha[0] * p0) + w_out
    for w in w_r0:
        den0 = den0 + w
    state = _State(
        price=np.full(shape, p0),
        r_price=[np.full(shape, r.price_usd_per_million_tokens) for r in rivals],
        share=np.full(shape, s0),
        r_share={j: np.full(shape, r.start_share_fraction) for j, r in enumerate(rivals) if subsidised[j]},
        passive_share=np.full(
            shape, sum(r.start_share_fraction for j, r in enumerate(rivals) if not subsidised[j])
        ),
        # Display only: each untracked rival's own share, on the first n_x paths (SHARE_SAMPLE_PATHS).
        passive_each={
            j: np.full((n_s, group.n_x), r.start_share_fraction)
            for j, r in enumerate(rivals)
            if not subsidised[j]
        },
        budget=[np.full(shape, r.subsidy_budget_usd) for r in rivals],
        budget_hit=[False] * n_r,  # until some path runs out, a funded rival's floor is the same everywhere
        cash=np.full(shape, float(firm.starting_cash_usd)),
        alive=np.ones(shape, dtype=bool),
        broke_even=np.zeros(shape, dtype=bool),
        paid_back=np.zeros(shape, dtype=bool),
        cumulative_contribution=np.zeros(shape),
        runway=np.full(shape, np.inf),
        w_r=w_r0,
        den=den0,
    )
    return group, state


def _weight(a: np.ndarray, alpha_t: np.ndarray, price: np.ndarray) -> np.ndarray:
    """exp(a - alpha_t p), the utility floored at -700 so that some weight survives any price."""
    u = a - alpha_t * price
    np.maximum(u, -700.0, out=u)
    out: np.ndarray = np.exp(u, out=u)
    return out


def _set_prices(g: _Group, st: _State, t: int) -> None:
    """Step 1. Everyone's price this month. Reactive rules read last month's prices (a one-month lag; month 1
    reacts to today's); dated cuts apply in their month; a rival never prices below its floor (unit cost, or
    unit cost x (1 - subsidy) while its budget lasts); our rules respect our floor (except hold)."""
    scenario = g.scenario
    firm, market, rivals, policy = scenario.firm, scenario.market, scenario.rivals, scenario.firm.pricing
    n_r = len(rivals)
    st.years = years = t / 12.0
    cost_factor = np.exp(-years * g.log_k)  # (P,)
    st.unit_cost = g.cost_base * cost_factor  # (S, P)
    st.trend = trend = np.exp(-years * g.log_d)  # (P,) the market's price level D(t)
    rival_cost_factor = trend if market.rival_cost_decline == "market" else cost_factor

    prev_price, prev_r_price = st.price, st.r_price
    if g.reactive:  # lowest and second-lowest of last month's prices, to get "lowest among the others"
        low1, low2 = prev_price, np.full(g.shape, np.inf)
        for p in prev_r_price:
            low2 = np.minimum(low2, np.maximum(low1, p))
            low1 = np.minimum(low1, p)
    r_price: list[np.ndarray] = []
    st.r_cost = []
    st.split = {}
    for j, r in enumerate(rivals):
        cost_j = g.rival_cost0[j] * rival_cost_factor  # (P,)
        st.r_cost.append(cost_j)
        anchor = r.price_usd_per_million_tokens * trend
        if r.cuts:
            anchor = anchor * np.prod(np.where(g.cut_month[j] <= t + 1, g.cut_keep[j], 1.0), axis=-1)
        if r.rule in ("match", "undercut"):
            others = np.where(prev_r_price[j] == low1, low2, low1)
            if r.rule == "undercut":
                others = others * (1.0 - r.undercut_fraction)
            else:  # match the lowest competing price's moves in percent, keeping today's gap to it
                others = (
                    others * (r.price_usd_per_million_tokens / g.others0[j]) if g.others0[j] > 0 else anchor
                )
            target = np.minimum(anchor, others)
        elif r.rule == "best_response":  # a damped step toward its best response to last month's prices
            best = best_response_price(cost_j, g.alpha_r[j], g.a_r[j], st.den - st.w_r[j], g.kappa, trend)
            target = prev_r_price[j] + r.best_response_damping_fraction * (best - prev_r_price[j])
        else:  # hold / script: the anchor (list price x market trend x dated cuts)
            target = anchor
        if g.subsidised[j] and st.budget_hit[j]:
            # Some paths ran out of subsidy: price both ways, pick per path.
            funded = st.budget[j] > 0.0
            p_funded = np.maximum(target, cost_j * (1.0 - r.subsidy_fraction))
            p_unfunded = np.maximum(target, cost_j)
            st.split[j] = (funded, p_funded, p_unfunded)
            r_price.append(np.where(funded, p_funded, p_unfunded))
        else:
            floor_j = cost_j * (1.0 - r.subsidy_fraction) if g.subsidised[j] else cost_j
            r_price.append(np.maximum(target, floor_j))  # (P,) unless it reacts to us: (S, P)
    st.r_price = r_price
    _rival_weights(g, st)

    p0 = firm.price_usd_per_million_tokens
    floor = st.unit_cost * (1.0 + policy.floor_margin_fraction)
    if policy.rule == "hold":
        price = st.price  # today's price, set before month 1
    elif policy.rule == "floor":
        price = floor
    elif policy.rule == "best_response":  # a damped step toward the best response to this month's prices
        best = (
            best_response_price(
                st.unit_cost, g.alpha_us, g.a_us, st.rivals_w, g.kappa, trend, start=st.best, steps=WARM_STEPS
            )
            if st.best is not None
            else best_response_price(st.unit_cost, g.alpha_us, g.a_us, st.rivals_w, g.kappa, trend)
        )
        st.best = best
        price = np.maximum(prev_price + policy.best_response_damping_fraction * (best - prev_price), floor)
    elif not n_r:  # nobody to react to: keep today's price, never below the floor
        price = np.maximum(p0, floor)
    elif policy.rule in ("match", "undercut"):
        lowest = prev_r_price[0]
        for p in prev_r_price[1:]:
            lowest = np.minimum(lowest, p)
        if policy.rule == "undercut":
            price = np.maximum(lowest * (1.0 - policy.undercut_fraction), floor)
        elif g.lowest_rival0 > 0:  # match: follow the lowest rival price's moves in percent, capped at p0
            price = np.maximum(np.minimum(lowest * (p0 / g.lowest_rival0), p0), floor)
        else:
            price = np.maximum(p0, floor)
    else:  # premium: the quality-adjusted lowest rival price (a quality point is worth gamma D / alpha $)
        gamma = market.quality_utility_per_point
        q_us = firm.quality_points + g.quality_delta
        dollars_per_point = gamma * trend / g.alpha_us
        adjusted = None
        for j, r in enumerate(rivals):
            a = prev_r_price[j] + (q_us - r.quality_points) * dollars_per_point
            adjusted = a if adjusted is None else np.minimum(adjusted, a)
        assert adjusted is not None
        price = np.maximum(adjusted * (1.0 + policy.premium_fraction), floor)
    st.price = np.broadcast_to(price, g.shape) if np.ndim(price) < 2 else price


def _rival_weights(g: _Group, st: _State) -> None:
    """Rivals' logit weights at this month's prices and their sum with the fringe's (in a fixed order, so a
    strategy's numbers never depend on which strategies share its group)."""
    w_r = []
    for j in range(len(g.scenario.rivals)):
        alpha_t = g.alpha_r[j] / st.trend
        if j in st.split and st.split[j][1].ndim == 1:
            funded, p_funded, p_unfunded = st.split[j]
            w_r.append(
                np.where(funded, _weight(g.a_r[j], alpha_t, p_funded), _weight(g.a_r[j], alpha_t, p_unfunded))
            )
        else:
            w_r.append(_weight(g.a_r[j], alpha_t, st.r_price[j]))
    rivals_w: np.ndarray | float = g.w_out
    for j in g.sum_order:
        rivals_w = rivals_w + w_r[j]
    st.w_r = w_r
    st.rivals_w = rivals_w


def _demand(g: _Group, st: _State, t: int) -> None:
    """Step 2. Target shares from the switching logit at this month's prices; realised shares close a
    fraction lambda of the gap; the total market Q0 exp(kappa IV) (1 + g)^years."""
    lam = g.lam
    w_us = _weight(g.a_us, g.alpha_us / st.trend, st.price)
    den = w_us + st.rivals_w
    st.den = den
    if g.elastic:  # the market's expansion exp(kappa IV), IV = ln(den) + shift (deflated prices)
        expansion: np.ndarray | float = np.exp(g.kappa * (np.log(den) + g.shift))
        lam_inv_den = (lam * expansion) / den
    else:
        expansion = 1.0
        lam_inv_den = lam / den
    st.share = (1.0 - lam) * st.share + w_us * lam_inv_den
    for j in st.r_share:  # x <- (1 - lambda) x + lambda x*, in place
        st.r_share[j] *= 1.0 - lam
        st.r_share[j] += st.w_r[j] * lam_inv_den
    n_r = len(g.scenario.rivals)
    if n_r > len(st.r_share):
        passive_w: np.ndarray | float = 0.0
        for j in g.sum_order:
            if not g.tracked[j]:
                passive_w = passive_w + st.w_r[j]
        st.passive_share = (1.0 - lam) * st.passive_share + passive_w * lam_inv_den
    sample = slice(0, g.n_x)
    lam_inv_den_x = lam_inv_den[:, sample]
    for j, each in st.passive_each.items():
        each *= 1.0 - lam
        each += st.w_r[j][..., sample] * lam_inv_den_x  # untracked rivals are never split (no subsidy)
    st.volume_x = (1.0 - lam) * st.volume_x + lam * expansion
    st.market = g.scenario.market.volume_million_tokens_per_month * np.exp(st.years * g.log_growth)  # (P,)
    st.total = st.market * st.volume_x


def _sales(g: _Group, st: _State, t: int, share_p50: np.ndarray) -> None:
    """Step 3. We sell min(demand, capacity); unmet demand spills to the rivals in proportion to their shares.
    Every firm's share of all demand is recorded (medians over the first paths); subsidised rivals' losses
    below cost drain their budgets."""
    rivals = g.scenario.rivals
    n_r = len(rivals)
    st.demand = demand = st.market * st.share
    st.sales = sales = np.minimum(demand, g.capacity)
    rivals_x = st.passive_share
    for rs in st.r_share.values():
        rivals_x = rivals_x + rs
    st.rivals_share = rivals_x
    sample = slice(0, g.n_x)
    market_x = np.broadcast_to(st.market, g.shape)[:, sample]
    big_x = np.broadcast_to(st.volume_x, g.shape)[:, sample]
    spill_x = (demand - sales)[:, sample] / np.maximum(market_x * rivals_x[:, sample], 1e-300)
    rows_x = np.empty((n_r + 2, g.n_s, g.n_x))
    rows_x[0] = sales[:, sample] / np.maximum(market_x * big_x, 1e-300)
    for j in range(n_r):
        own = st.r_share[j][:, sample] if j in st.r_share else st.passive_each[j]
        rows_x[1 + j] = own / big_x * (1.0 + spill_x)
    rows_x[-1] = 1.0 - (st.share[:, sample] + rivals_x[:, sample]) / big_x
    share_p50[:, :, t] = _median_last(rows_x)
    per_share = None
    for j in range(n_r):
        if g.subsidised[j]:
            # Paths that ran out of subsidy have a zero budget that stays zero, so the loss can be computed at
            # the funded price everywhere.
            funded_price = st.split[j][1] if j in st.split else st.r_price[j]
            unit_loss = np.maximum(st.r_cost[j] - funded_price, 0.0)
            if not np.any(unit_loss > 0.0):  # at or above cost on every path: nothing to pay
                continue
            if per_share is None:  # a rival's volume is its x times per_share (spill included)
                per_share = st.market + (demand - sales) / np.maximum(rivals_x, 1e-300)
            spent = unit_loss * st.r_share[j]
            spent *= per_share
            st.budget[j] -= spent
            np.maximum(st.budget[j], 0.0, out=st.budget[j])
            if not st.budget_hit[j] and st.budget[j].min() <= 0.0:
                st.budget_hit[j] = True


def _money(g: _Group, st: _State, t: int, counts: dict[str, np.ndarray]) -> None:
    """Step 4. cash(t) = cash(t-1) + (p - c) sales - F - training outlay(t) + funding(t); death (cash < 0) is
    absorbing; break-even and payback are counted per month."""
    firm = g.scenario.firm
    st.revenue = st.price * st.sales
    st.gross = st.revenue - st.unit_cost * st.sales
    contribution = st.gross - firm.fixed_costs_usd_per_month
    outlay = g.outlay_per_month if t < firm.training_spend_months else 0.0
    amortisation = g.amortisation_per_month if t < firm.amortisation_months else 0.0
    st.cash = st.cash + (contribution - outlay + g.funding[t])
    st.alive &= st.cash >= 0.0
    st.broke_even |= contribution >= amortisation
    st.cumulative_contribution += contribution
    st.paid_back |= st.cumulative_contribution >= g.one_off
    counts["alive"][:, t] = np.count_nonzero(st.alive, axis=1)
    counts["breakeven"][:, t] = np.count_nonzero(st.broke_even, axis=1)
    counts["payback"][:, t] = np.count_nonzero(st.paid_back, axis=1)
    if t == 0:  # operating burn of month 1; cash net of the one-off spend, before any funding
        burn = -contribution
        cash_left = np.maximum(firm.starting_cash_usd - g.one_off, 0.0)
        st.runway = np.where(burn > 0.0, cash_left / np.where(burn > 0.0, burn, 1.0), np.inf)


class _Recorder:
    """Step 5. Percentile bands: every display series in one float32 sort, cash in float64 (exact to the
    cent). The sorting runs on a helper thread (numpy releases the GIL) while the next month is computed;
    two display buffers alternate, so a buffer is refilled only once its sort has finished."""

    KEYS = ("price", "volume", "share", "revenue", "gross_profit", "gross_margin")

    def __init__(self, g: _Group, n_t: int, keep_cash_paths: bool, pool: ThreadPoolExecutor | None) -> None:
        n_r, n_q = len(g.scenario.rivals), len(QUANTILES)
        self.pool = pool
        self.buffers = [
            np.empty((len(self.KEYS) + n_r, g.n_s, g.n_p), dtype=np.float32)
            for _ in range(1 if pool is None else 2)
        ]
        self.pending: list[Future[None]] = []
        self.display_bands = np.empty((len(self.KEYS) + n_r, g.n_s, n_q, n_t))
        self.band_arrays = {key: self.display_bands[k] for k, key in enumerate(self.KEYS)}
        self.band_arrays["cash"] = np.empty((g.n_s, n_q, n_t))
        self.r_price_bands = self.display_bands[len(self.KEYS) :]
        self.cash_paths = np.empty((g.n_s, n_t, g.n_p)) if keep_cash_paths else None

    def record(self, g: _Group, st: _State, t: int) -> None:
        if self.cash_paths is not None:
            self.cash_paths[:, t, :] = st.cash
        if len(self.pending) >= len(self.buffers):
            self.pending.pop(0).result()
        display = self.buffers[t % len(self.buffers)]
        display[0] = st.price
        display[1] = st.sales
        np.divide(st.sales, np.maximum(st.total, 1e-300), out=display[2], casting="unsafe")  # of all sellers
        display[3] = st.revenue
        display[4] = st.gross
        display[5] = np.maximum(1.0 - st.unit_cost / np.maximum(st.price, 1e-12), _MARGIN_CLIP)
        n_r = len(st.r_price)
        per_strategy = [j for j in range(n_r) if st.r_price[j].ndim == 2]
        for k, j in enumerate(per_strategy):
            display[6 + k] = st.r_price[j]
        shared = [(j, st.r_price[j]) for j in range(n_r) if st.r_price[j].ndim == 1]
        job = functools.partial(
            _summarise,
            display,
            per_strategy,
            shared,
            st.cash,
            t,
            self.display_bands,
            self.r_price_bands,
            self.band_arrays["cash"],
        )
        if self.pool is None:
            job()
        else:
            self.pending.append(self.pool.submit(job))

    def finish(self) -> None:
        for future in self.pending:
            future.result()


def _record(recorder: _Recorder, g: _Group, st: _State, t: int) -> None:
    """Step 5. The month's percentile bands (and the cash paths when kept)."""
    recorder.record(g, st, t)


def _run_group(
    scenario: Scenario,
    strategies: tuple[Strategy, ...],
    inputs: PathInputs,
    keep_cash_paths: bool,
    max_quality_delta: float,
    cost_bands: np.ndarray,
    pool: ThreadPoolExecutor | None,
) -> SimulationResult:
    """The month loop: five named steps over a small state (see the module docstring)."""
    g, st = _prepare(scenario, strategies, inputs, max_quality_delta)
    n_t, n_r = scenario.horizon_months, len(scenario.rivals)
    counts = {key: np.empty((g.n_s, n_t), dtype=np.int64) for key in ("alive", "breakeven", "payback")}
    share_p50 = np.empty((n_r + 2, g.n_s, n_t))  # ours, the rivals, other providers: of all demand
    recorder = _Recorder(g, n_t, keep_cash_paths, pool)
    for t in range(n_t):
        _set_prices(g, st, t)
        _demand(g, st, t)
        _sales(g, st, t, share_p50)
        _money(g, st, t, counts)
        _record(recorder, g, st, t)
    recorder.finish()

    return SimulationResult(
        horizon_months=n_t,
        paths_count=g.n_p,
        rival_names=tuple(r.name for r in scenario.rivals),
        strategies=tuple(
            _strategy_result(
                scenario,
                strat,
                i,
                g.cost_base,
                g.capacity,
                recorder.band_arrays,
                recorder.r_price_bands,
                counts,
                st.runway,
                st.budget,
                g.n_p,
                cost_bands,
                share_p50,
                g.n_x,
            )
            for i, strat in enumerate(strategies)
        ),
        rival_stamina=rival_stamina(scenario),
        cash_paths_usd=recorder.cash_paths,
    )


def _summarise(
    display: np.ndarray,
    per_strategy: list[int],
    shared: list[tuple[int, np.ndarray]],
    cash: np.ndarray,
    t: int,
    display_bands: np.ndarray,
    r_price_bands: np.ndarray,
    cash_bands: np.ndarray,
) -> None:
    """Month t's percentile bands, written into the result arrays (each month owns its own slice)."""
    with np.errstate(all="ignore"):  # a thread does not inherit the caller's error state
        bands_now = quantile_bands(display[: 6 + len(per_strategy)], fast=True)
        display_bands[:6, :, :, t] = bands_now[:6]
        for k, j in enumerate(per_strategy):
            r_price_bands[j, :, :, t] = bands_now[6 + k]
        for j, prices in shared:  # the same on every strategy's paths: summarised once
            r_price_bands[j, :, :, t] = quantile_bands(prices, fast=True)
        cash_bands[:, :, t] = quantile_bands(cash, fast=False)


def _strategy_result(
    scenario: Scenario,
    st: Strategy,
    i: int,
    cost_base: np.ndarray,
    capacity: np.ndarray,
    band_arrays: dict[str, np.ndarray],
    r_price_bands: np.ndarray,
    counts: dict[str, np.ndarray],
    runway: np.ndarray,
    budget: list[np.ndarray],
    n_p: int,
    cost_bands: np.ndarray,
    share_p50: np.ndarray,
    n_x: int,
) -> StrategyResult:
    firm, rivals = scenario.firm, scenario.rivals
    survival = counts["alive"][i] / n_p
    bands = {key: Bands.from_rows(arr[i]) for key, arr in band_arrays.items()}
    unit_cost = float(np.median(cost_base[i]))
    margin = 1.0 + firm.pricing.floor_margin_fraction
    cost_by_month = st.unit_cost_usd_per_million_tokens * cost_bands  # (5, T)
    volume0 = scenario.market.volume_million_tokens_per_month * firm.start_share_fraction
    full_cost = (
        unit_cost
        + (firm.fixed_costs_usd_per_month + st.one_off_training_usd / firm.amortisation_months) / volume0
    )
    return StrategyResult(
        name=st.name,
        levers=tuple(sorted(st.levers)),
        closed_forms=strategy_closed_forms(scenario, unit_cost, st.one_off_training_usd),
        unit_cost_usd_per_million_tokens=unit_cost,
        price_floor_usd_per_million_tokens=unit_cost * margin,
        unit_cost_usd_per_million_tokens_by_month=Bands.from_rows(cost_by_month),
        price_floor_usd_per_million_tokens_by_month=Bands.from_rows(cost_by_month * margin),
        full_cost_price_usd_per_million_tokens=full_cost,
        one_off_training_usd=st.one_off_training_usd,
        quality_delta_points=st.quality_delta_points,
        capacity_million_tokens_per_month=None if math.isinf(capacity[i, 0]) else float(capacity[i, 0]),
        price_usd_per_million_tokens=bands["price"],
        volume_million_tokens_per_month=bands["volume"],
        share_fraction=bands["share"],
        revenue_usd_per_month=bands["revenue"],
        gross_profit_usd_per_month=bands["gross_profit"],
        gross_margin_fraction=bands["gross_margin"],
        cash_usd=bands["cash"],
        rival_price_usd_per_million_tokens=tuple(
            Bands.from_rows(r_price_bands[j, i]) for j in range(len(rivals))
        ),
        market_shares=MarketShares(
            ours=share_p50[0, i].copy(),
            rivals=tuple(share_p50[1 + j, i].copy() for j in range(len(rivals))),
            outside_option=share_p50[-1, i].copy(),
            paths_used=n_x,
        ),
        rival_subsidy_exhausted_fraction=tuple(
            float(np.mean(budget[j][i] <= 0.0)) if r.subsidy_budget_usd > 0 else 0.0
            for j, r in enumerate(rivals)
        ),
        survival_curve_fraction=survival,
        survival_probability=float(survival[-1]),
        breakeven_month=median_month(counts["breakeven"][i], n_p),
        breakeven_paths_fraction=float(counts["breakeven"][i, -1] / n_p),
        payback_month=median_month(counts["payback"][i], n_p),
        death_month=median_month(n_p - counts["alive"][i], n_p),
        runway_months=_finite_or_none(float(np.median(runway[i]))),
        breakeven_count_by_month=counts["breakeven"][i].copy(),
        payback_count_by_month=counts["payback"][i].copy(),
    )


def _finite_or_none(value: float) -> float | None:
    return value if math.isfinite(value) else None


__all__ = ["capacity_million_tokens_per_month", "run_simulation", "simulate"]
