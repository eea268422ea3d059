"""The month-by-month price war, vectorised over strategies (S) and Monte Carlo paths (P).

One loop runs over months; everything inside works on (S, P) arrays for us and (R, S, P) for the rivals.
Order of events in month t (1-based), following MARKET-MODEL.md items 7-13:

1. Prices. Reactive rules (ours and rivals') look at everyone's prices of month t-1 (a one-month reaction
   lag; month 1 reacts to today's prices). Scripted cuts dated month t apply in month t. Every rival is held
   at its floor: unit cost, or unit cost x (1 - subsidy) while its subsidy budget lasts.
2. Demand. Total volume Q(t) = Q0 (Pbar(t)/Pbar0)^e_market (1 + g)^((t-1)/12), Pbar a price index with
   today's inside shares as fixed weights. Target shares from a logit with an outside option,
   u_j = alpha_j - beta p_j / D(t) + gamma q_j, with prices deflated by the market's price level
   D(t) = d^(-(t-1)/12) (customers judge a price gap against the going rate: a constant-dollar beta would
   stop discriminating once prices have fallen 100-fold; with d = 1 this is MARKET-MODEL item 7 exactly);
   realised shares move a fraction lambda toward them each month.
3. Sales. We sell min(demand, capacity); unmet demand spills to the rivals in proportion to their shares.
4. Money. cash(t) = cash(t-1) + (p - c) sales - F - training outlay(t) + funding(t). Death is the first month
   with cash < 0 and is absorbing; cash keeps being accounted after death so its bands show how deep.
   Rivals' below-cost losses drain their subsidy budgets.
"""

from __future__ import annotations

import functools
import math
from concurrent.futures import Future, ThreadPoolExecutor

import numpy as np

from app.engine.market.closed_forms import strategy_closed_forms
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
) -> SimulationResult:
    """Draw the uncertain inputs once and run every strategy on the same paths."""
    n_paths = scenario.paths_count if paths_count is None else paths_count
    if isinstance(n_paths, bool) or not isinstance(n_paths, int) or not 1 <= n_paths <= 100_000:
        raise ScenarioError("paths_count", f"must be between 1 and 100000, got {n_paths!r}")
    inputs = sample_inputs(scenario, draw_uniforms(scenario, n_paths, rng))
    return simulate(scenario, tuple(strategies), inputs, keep_cash_paths=keep_cash_paths)


def simulate(
    scenario: Scenario,
    strategies: tuple[Strategy, ...],
    inputs: PathInputs,
    *,
    keep_cash_paths: bool = False,
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
    parts = [
        _simulate_group(
            scenario,
            strategies[i : i + group],
            inputs,
            keep_cash_paths=keep_cash_paths,
            max_quality_delta=top_q,
            cost_bands=cost_bands,
        )
        for i in range(0, len(strategies), group)
    ]
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


def _run_group(
    scenario: Scenario,
    strategies: tuple[Strategy, ...],
    inputs: PathInputs,
    keep_cash_paths: bool,
    max_quality_delta: float,
    cost_bands: np.ndarray,
    pool: ThreadPoolExecutor | None,
) -> SimulationResult:
    firm, market, rivals, policy = scenario.firm, scenario.market, scenario.rivals, scenario.firm.pricing
    n_s, n_p, n_r, n_t = len(strategies), inputs.paths_count, len(rivals), scenario.horizon_months
    shape = (n_s, n_p)

    # --- per-strategy constants, (S, 1) ---------------------------------------------------------------
    unit_cost0 = np.array([st.unit_cost_usd_per_million_tokens for st in strategies])[:, None]
    one_off = np.array([st.one_off_training_usd for st in strategies])[:, None]
    quality_delta = np.array([st.quality_delta_points for st in strategies])[:, None]
    capacity = capacity_million_tokens_per_month(scenario, strategies)[:, None]
    outlay_per_month = one_off / firm.training_spend_months
    amortisation_per_month = one_off / firm.amortisation_months
    funding = np.zeros(n_t)
    for ev in firm.funding:
        funding[ev.month - 1] += ev.amount_usd

    # --- per-path draws, (P,) -------------------------------------------------------------------------
    log_k = np.log(inputs.cost_decline_per_year)
    log_d = np.log(inputs.price_decline_per_year)
    log_growth = np.log1p(inputs.demand_growth_per_year_fraction)
    e_market = inputs.market_elasticity
    elastic = bool(np.any(e_market != 0.0))
    volume0 = market.volume_million_tokens_per_month
    p0 = firm.price_usd_per_million_tokens
    s0 = firm.start_share_fraction
    beta = -inputs.switching_elasticity / (p0 * (1.0 - s0))  # logit price coefficient, per $/1M tokens
    gamma = market.quality_utility_per_point
    cost_base = unit_cost0 * inputs.unit_cost_multiplier[None, :]  # (S, P): unit cost in month 1

    # Logit weights w_j = s_j0 exp(beta p_j0 - beta_t p_j + gamma dq_j), scaled by exp(-shift) so no weight
    # can overflow even at a zero price; shift is 0 in any realistic scenario.
    bound = np.log(s0) + beta * p0 + gamma * max(max_quality_delta, 0.0)
    for r in rivals:
        bound = np.maximum(bound, np.log(r.start_share_fraction) + beta * r.price_usd_per_million_tokens)
    shift = np.maximum(bound - 600.0, 0.0)
    a_us = np.log(s0) + beta * p0 - shift + gamma * quality_delta  # (S, P)
    a_r = [np.log(r.start_share_fraction) + beta * r.price_usd_per_million_tokens - shift for r in rivals]
    w_out = max(scenario.outside_share_fraction, 0.0) * np.exp(-shift)  # (P,)

    inside0 = s0 + sum(r.start_share_fraction for r in rivals)
    index_w_us = s0 / inside0  # price index: today's inside shares as fixed weights
    index_w_r = [r.start_share_fraction / inside0 for r in rivals]
    rival_index0 = sum(w * r.price_usd_per_million_tokens for w, r in zip(index_w_r, rivals, strict=True))
    index0 = max(index_w_us * p0 + rival_index0, 1e-12)

    rival_cost0 = [inputs.rival_unit_cost_usd_per_million_tokens[:, j] for j in range(n_r)]
    cut_month = [inputs.rival_cut_month[:, j, : len(r.cuts)] for j, r in enumerate(rivals)]
    cut_keep = [1.0 - inputs.rival_cut_fraction[:, j, : len(r.cuts)] for j, r in enumerate(rivals)]
    subsidised = [r.subsidy_budget_usd > 0 and r.subsidy_fraction > 0 for r in rivals]
    reactive = any(r.rule in ("match", "undercut") for r in rivals)
    # Rivals whose price can never depend on our strategy first (their sums stay per-path arrays).
    sum_order = sorted(
        range(n_r),
        key=lambda j: (subsidised[j] or rivals[j].rule not in ("hold", "script"), j),
    )
    # Today's lowest price each firm sees among the others: "match" keeps its ratio to it.
    start_prices = [p0] + [r.price_usd_per_million_tokens for r in rivals]
    others0 = [min(start_prices[: j + 1] + start_prices[j + 2 :]) for j in range(n_r)]
    lowest_rival0 = min(start_prices[1:], default=0.0)

    # --- state ----------------------------------------------------------------------------------------
    price: np.ndarray = np.full(shape, p0)
    r_price: list[np.ndarray] = [np.full(shape, r.price_usd_per_million_tokens) for r in rivals]
    share: np.ndarray = np.full(shape, s0)
    # Individual shares are tracked only for rivals that need them (a subsidy budget to drain, a best
    # response to compute); the others move as one aggregate, which the linear inertia update allows.
    tracked = [subsidised[j] or r.rule == "best_response" for j, r in enumerate(rivals)]
    r_share: dict[int, np.ndarray] = {
        j: np.full(shape, r.start_share_fraction) for j, r in enumerate(rivals) if tracked[j]
    }
    passive_share = np.full(
        shape, sum(r.start_share_fraction for j, r in enumerate(rivals) if not tracked[j])
    )
    # Display only: each untracked rival's own share, on the first n_x paths (SHARE_SAMPLE_PATHS).
    n_x = min(n_p, SHARE_SAMPLE_PATHS)
    sample = slice(0, n_x)
    passive_each = {
        j: np.full((n_s, n_x), r.start_share_fraction) for j, r in enumerate(rivals) if not tracked[j]
    }
    share_p50 = np.empty((n_r + 2, n_s, n_t))  # ours, the rivals, the outside option: of all demand
    budget_hit = [False] * n_r  # until some path runs out, a funded rival's floor is the same on every path
    budget: list[np.ndarray] = [np.full(shape, r.subsidy_budget_usd) for r in rivals]
    cash = np.full(shape, float(firm.starting_cash_usd))
    alive = np.ones(shape, dtype=bool)
    # Paths that have broken even / paid back so far; first-month medians come from the counts per month.
    broke_even = np.zeros(shape, dtype=bool)
    paid_back = np.zeros(shape, dtype=bool)
    counts = {key: np.empty((n_s, n_t), dtype=np.int64) for key in ("alive", "breakeven", "payback")}
    cumulative_contribution = np.zeros(shape)
    runway = np.full(shape, np.inf)
    hold_price = np.full(shape, p0)

    n_q = len(QUANTILES)
    keys = ("price", "volume", "share", "revenue", "gross_profit", "gross_margin")
    # Display buffers, reused every month; two when a thread sorts one while the next month fills the other.
    buffers = [
        np.empty((len(keys) + n_r, n_s, n_p), dtype=np.float32) for _ in range(1 if pool is None else 2)
    ]
    pending: list[Future[None]] = []
    display_bands = np.empty((len(keys) + n_r, n_s, n_q, n_t))
    band_arrays = {key: display_bands[k] for k, key in enumerate(keys)}
    band_arrays["cash"] = np.empty((n_s, n_q, n_t))
    r_price_bands = display_bands[len(keys) :]
    cash_paths = np.empty((n_s, n_t, n_p)) if keep_cash_paths else None
    lam = market.inertia_per_month_fraction

    for t in range(n_t):
        years = t / 12.0
        cost_factor = np.exp(-years * log_k)  # (P,)
        unit_cost = cost_base * cost_factor  # (S, P)
        trend = np.exp(-years * log_d)  # (P,)
        rival_cost_factor = trend if market.rival_cost_decline == "market" else cost_factor
        beta_t = beta / trend  # price sensitivity per $ in today's money (prices deflated by the trend)

        # 1. prices: everyone reacts to last month's prices
        prev_price, prev_r_price = price, r_price
        if reactive:  # lowest and second-lowest of last month's prices, to get "lowest among the others"
            low1, low2 = prev_price, np.full(shape, np.inf)
            for p in prev_r_price:
                low2 = np.minimum(low2, np.maximum(low1, p))
                low1 = np.minimum(low1, p)
        r_price = []
        r_cost = []
        split: dict[int, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}
        for j, r in enumerate(rivals):
            cost_j = rival_cost0[j] * rival_cost_factor  # (P,)
            r_cost.append(cost_j)
            anchor = r.price_usd_per_million_tokens * trend
            if r.cuts:
                anchor = anchor * np.prod(np.where(cut_month[j] <= t + 1, cut_keep[j], 1.0), axis=-1)
            if r.rule in ("match", "undercut"):
                others = np.where(prev_r_price[j] == low1, low2, low1)
                if r.rule == "undercut":
                    others = others * (1.0 - r.undercut_fraction)
                else:  # match the lowest competing price's moves in percent, keeping today's gap to it
                    others = (
                        others * (r.price_usd_per_million_tokens / others0[j]) if others0[j] > 0 else anchor
                    )
                target = np.minimum(anchor, others)
            elif r.rule == "best_response":  # p = c + 1/(beta (1 - s)), approached with damping
                markup = 1.0 / (beta_t * np.maximum(1.0 - r_share[j], 1e-9))
                target = prev_r_price[j] + r.best_response_damping_fraction * (
                    cost_j + markup - prev_r_price[j]
                )
            else:  # hold / script: the anchor (list price x market trend x dated cuts)
                target = anchor
            if subsidised[j] and budget_hit[j]:
                # Some paths ran out of subsidy: price both ways, pick per path. When the target is the
                # same for every strategy, the exponentials below are also taken on (P,) arrays only.
                funded = budget[j] > 0.0
                p_funded = np.maximum(target, cost_j * (1.0 - r.subsidy_fraction))
                p_unfunded = np.maximum(target, cost_j)
                split[j] = (funded, p_funded, p_unfunded)
                r_price.append(np.where(funded, p_funded, p_unfunded))
            else:
                floor_j = cost_j * (1.0 - r.subsidy_fraction) if subsidised[j] else cost_j
                r_price.append(np.maximum(target, floor_j))  # (P,) unless it reacts to us: (S, P)

        floor = unit_cost * (1.0 + policy.floor_margin_fraction)
        if policy.rule == "hold":
            price = hold_price
        elif policy.rule == "floor":
            price = floor
        elif not n_r:  # nobody to react to: keep today's price, never below the floor
            price = np.maximum(p0, floor)
        elif policy.rule in ("match", "undercut"):
            lowest = prev_r_price[0]
            for p in prev_r_price[1:]:
                lowest = np.minimum(lowest, p)
            if policy.rule == "undercut":
                price = np.maximum(lowest * (1.0 - policy.undercut_fraction), floor)
            elif lowest_rival0 > 0:  # match: follow the lowest rival price's moves in percent, capped at p0
                price = np.maximum(np.minimum(lowest * (p0 / lowest_rival0), p0), floor)
            else:
                price = np.maximum(p0, floor)
        else:  # premium: the quality-adjusted lowest rival price
            q_us = firm.quality_points + quality_delta
            adjusted = None
            for j, r in enumerate(rivals):
                a = prev_r_price[j] + gamma * (q_us - r.quality_points) / beta_t
                adjusted = a if adjusted is None else np.minimum(adjusted, a)
            assert adjusted is not None
            price = np.maximum(adjusted * (1.0 + policy.premium_fraction), floor)

        # 2. demand: logit target shares with an outside option, inertia, constant-elasticity total
        # Sums start from the (P,) terms so they stay (P,) as long as possible (fewer (S, P) operations).
        w_us = np.exp(a_us - beta_t * price)
        w_r = []
        for j in range(n_r):
            if j in split and split[j][1].ndim == 1:
                funded, p_funded, p_unfunded = split[j]
                w_r.append(
                    np.where(funded, np.exp(a_r[j] - beta_t * p_funded), np.exp(a_r[j] - beta_t * p_unfunded))
                )
            else:
                w_r.append(np.exp(a_r[j] - beta_t * r_price[j]))
        # The order of the sums is fixed by the scenario (never by which arrays happen to be per-path in this
        # group), so a strategy's numbers do not depend on the strategies it is grouped with.
        rivals_w: np.ndarray | float = w_out
        rivals_index: np.ndarray | float = 0.0
        passive_w: np.ndarray | float = 0.0
        for j in sum_order:
            rivals_w = rivals_w + w_r[j]
            rivals_index = rivals_index + index_w_r[j] * r_price[j]
            if not tracked[j]:
                passive_w = passive_w + w_r[j]
        inv_den = 1.0 / (w_us + rivals_w)
        index = index_w_us * price + rivals_index
        lam_inv_den = lam * inv_den
        share = (1.0 - lam) * share + w_us * lam_inv_den
        for j in r_share:  # s <- (1 - lambda) s + lambda s*, in place
            r_share[j] *= 1.0 - lam
            r_share[j] += w_r[j] * lam_inv_den
        if n_r > len(r_share):
            passive_share = (1.0 - lam) * passive_share + passive_w * lam_inv_den
        lam_inv_den_x = lam_inv_den[:, sample]
        for j, each in passive_each.items():
            each *= 1.0 - lam
            each += w_r[j][..., sample] * lam_inv_den_x  # untracked rivals are never split (no subsidy)
        if elastic:
            total = volume0 * np.exp(e_market * np.log(np.maximum(index / index0, 1e-9)) + years * log_growth)
        else:
            total = volume0 * np.exp(years * log_growth)  # (P,)

        # 3. sales, capacity; unmet demand spills to the rivals in proportion to their shares
        demand = total * share
        sales = np.minimum(demand, capacity)
        rivals_share = passive_share
        for rs in r_share.values():
            rivals_share = rivals_share + rs
        inside_volume = total * (share + rivals_share)
        # Shares of all demand (the outside option included), by volume sold: our sales, each rival's
        # logit share plus its part of our unmet demand, and what buys no API; they add up to 1 on each path.
        total_x = np.broadcast_to(total, shape)[:, sample]
        spill_x = (demand - sales)[:, sample] / np.maximum(total_x * rivals_share[:, sample], 1e-300)
        rows_x = np.empty((n_r + 2, n_s, n_x))
        rows_x[0] = sales[:, sample] / np.maximum(total_x, 1e-300)
        for j in range(n_r):
            own = r_share[j][:, sample] if j in r_share else passive_each[j]
            rows_x[1 + j] = own * (1.0 + spill_x)
        rows_x[-1] = 1.0 - share[:, sample] - rivals_share[:, sample]
        share_p50[:, :, t] = _median_last(rows_x)
        per_share = None
        for j in range(n_r):
            if subsidised[j]:
                # Paths that ran out of subsidy have a zero budget that stays zero, so the loss can be
                # computed at the funded price everywhere (a (P,) array while the target is per path).
                funded_price = split[j][1] if j in split else r_price[j]
                unit_loss = np.maximum(r_cost[j] - funded_price, 0.0)
                if not np.any(unit_loss > 0.0):  # at or above cost on every path: nothing to pay
                    continue
                if per_share is None:  # a rival's volume is its share x per_share (spill included)
                    per_share = total + (demand - sales) / np.maximum(rivals_share, 1e-300)
                spent = unit_loss * r_share[j]
                spent *= per_share
                budget[j] -= spent
                np.maximum(budget[j], 0.0, out=budget[j])
                if not budget_hit[j] and budget[j].min() <= 0.0:
                    budget_hit[j] = True

        # 4. money
        revenue = price * sales
        gross = revenue - unit_cost * sales
        contribution = gross - firm.fixed_costs_usd_per_month
        outlay = outlay_per_month if t < firm.training_spend_months else 0.0
        amortisation = amortisation_per_month if t < firm.amortisation_months else 0.0
        cash = cash + (contribution - outlay + funding[t])
        alive &= cash >= 0.0
        broke_even |= contribution >= amortisation
        cumulative_contribution += contribution
        paid_back |= cumulative_contribution >= one_off
        counts["alive"][:, t] = np.count_nonzero(alive, axis=1)
        counts["breakeven"][:, t] = np.count_nonzero(broke_even, axis=1)
        counts["payback"][:, t] = np.count_nonzero(paid_back, axis=1)
        if t == 0:  # operating burn of month 1; cash net of the one-off spend, before any funding
            burn = -contribution
            cash_left = np.maximum(firm.starting_cash_usd - one_off, 0.0)
            runway = np.where(burn > 0.0, cash_left / np.where(burn > 0.0, burn, 1.0), np.inf)

        if cash_paths is not None:
            cash_paths[:, t, :] = cash
        # percentile bands: every display series in one float32 sort; cash in float64 (exact to the cent).
        # The sorting runs on a helper thread (numpy releases the GIL) while the next month is computed;
        # two display buffers alternate, so a buffer is refilled only once its sort has finished.
        if len(pending) >= len(buffers):
            pending.pop(0).result()
        display = buffers[t % len(buffers)]
        display[0] = price
        display[1] = sales
        np.divide(sales, np.maximum(inside_volume, 1e-300), out=display[2], casting="unsafe")
        display[3] = revenue
        display[4] = gross
        display[5] = np.maximum(1.0 - unit_cost / np.maximum(price, 1e-12), _MARGIN_CLIP)
        per_strategy = [j for j in range(n_r) if r_price[j].ndim == 2]
        for k, j in enumerate(per_strategy):
            display[6 + k] = r_price[j]
        shared = [(j, r_price[j]) for j in range(n_r) if r_price[j].ndim == 1]
        job = functools.partial(
            _summarise,
            display,
            per_strategy,
            shared,
            cash,
            t,
            display_bands,
            r_price_bands,
            band_arrays["cash"],
        )
        if pool is None:
            job()
        else:
            pending.append(pool.submit(job))

    for future in pending:
        future.result()

    return SimulationResult(
        horizon_months=n_t,
        paths_count=n_p,
        rival_names=tuple(r.name for r in rivals),
        strategies=tuple(
            _strategy_result(
                scenario,
                st,
                i,
                cost_base,
                capacity,
                band_arrays,
                r_price_bands,
                counts,
                runway,
                budget,
                n_p,
                cost_bands,
                share_p50,
                n_x,
            )
            for i, st in enumerate(strategies)
        ),
        rival_stamina=rival_stamina(scenario),
        cash_paths_usd=cash_paths,
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
