"""The price-war simulator: rivals, demand, cash and survival, with Monte Carlo and strategy comparison.

Pure numpy + standard library. Frozen dataclasses in (`Scenario`, `Strategy`), dataclasses of arrays out
(`SimulationResult`). Randomness comes in as `rng: np.random.Generator`; strategies share the same draws.
Models, equations and sources: docs/methodology/market-model.md.

Glossary (market)
-----------------
price_usd_per_million_tokens      list price per 1M output tokens (p)
unit_cost_usd_per_million_tokens  variable cost per 1M output tokens (c); c(t) = c0 k^(-(t-1)/12)
cost_decline_per_year             k: unit cost falls k-fold a year (1 = flat, 2 = halves yearly)
price_decline_per_year            d: list prices at constant capability fall d-fold a year (LLMflation)
rival_cost_decline                rivals' unit costs fall at our rate k ("ours") or at d ("market")
volume_million_tokens_per_month   Q: tokens sold a month, in millions
share_fraction                    s: share of the API market's volume; the logit's outside option is the rest
market_elasticity                 e_market: % change of total volume per % change of the price index
switching_elasticity              our own-price elasticity within the market at today's prices; the logit
                                  compares prices deflated by the market's price level d^(-t/12)
inertia_per_month_fraction        lambda: share of the gap to the new logit shares closed each month
fixed_costs_usd_per_month         F: staff, rent, base infrastructure
one_off_training_usd              training / fine-tuning spend: paid over training_spend_months,
                                  charged to profit over amortisation_months
subsidy_budget_usd                what a rival may lose pricing below its unit cost before it must stop
price floor                       ours: c (1 + floor margin); a rival's: c, or c (1 - subsidy) while funded
contribution                      (p - c) Q - F, per month
survival_curve_fraction           share of paths with cash >= 0 at every month-end so far (death absorbs)
breakeven_month                   median first month with contribution >= training amortisation
payback_month                     median first month cumulative contribution >= the one-off spend
runway_months                     (starting cash - one-off spend) / month-1 operating burn (None: no burn)
death_month                       median over paths of the first month with cash < 0 (None: most survive);
                                  the pages call it "cash runs out", runway_months "runway at today's burn"
unit_cost_usd_per_million_tokens_by_month   our c(t) by month, p5 ... p95 over paths (GPU price, decline k)
price_floor_usd_per_million_tokens_by_month the above x (1 + floor margin): the floor our rules respect
shares_of_all_demand_fraction_p50 medians by month of ours, each rival's and the outside option's share of
                                  all demand (by volume sold); they add up to 1 on every path
p5 ... p95                        percentiles over Monte Carlo paths
months                            numbered from 1; month 1 is the first simulated month
"""

from app.engine.market.closed_forms import (
    ClosedForm,
    breakeven_volume_million_tokens_per_month,
    payback_months,
    profit_max_price_usd_per_million_tokens,
    required_volume_uplift_fraction,
)
from app.engine.market.codec import (
    Preset,
    preset_from_dict,
    preset_to_dict,
    scenario_from_dict,
    scenario_to_dict,
    strategies_from_list,
    strategy_to_dict,
)
from app.engine.market.errors import ScenarioError
from app.engine.market.scenario import (
    MAX_HORIZON_MONTHS,
    MAX_PATHS,
    MAX_RIVALS,
    Firm,
    FundingEvent,
    Market,
    PriceCut,
    PricingPolicy,
    Range,
    Rival,
    Scenario,
    Strategy,
    baseline_strategy,
)
from app.engine.market.simulation import run_simulation, simulate
from app.engine.market.summary import Bands, RivalStamina, SimulationResult, StrategyResult

__all__ = [
    "MAX_HORIZON_MONTHS",
    "MAX_PATHS",
    "MAX_RIVALS",
    "Bands",
    "ClosedForm",
    "Firm",
    "FundingEvent",
    "Market",
    "Preset",
    "PriceCut",
    "PricingPolicy",
    "Range",
    "Rival",
    "RivalStamina",
    "Scenario",
    "ScenarioError",
    "SimulationResult",
    "Strategy",
    "StrategyResult",
    "baseline_strategy",
    "breakeven_volume_million_tokens_per_month",
    "profit_max_price_usd_per_million_tokens",
    "payback_months",
    "preset_from_dict",
    "preset_to_dict",
    "required_volume_uplift_fraction",
    "run_simulation",
    "scenario_from_dict",
    "scenario_to_dict",
    "simulate",
    "strategies_from_list",
    "strategy_to_dict",
]
