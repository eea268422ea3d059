"""Owning versus renting accelerators: the cost of a used GPU-hour on hardware you buy.

Pure arithmetic, no database. Every cost is a yearly figure for the whole cluster first, then divided by
the GPU-hours actually used (gpu_count × 8,760 h × utilization), which is what a rental at the same use
would cost.

    capex_usd              = gpu_count × purchase_usd_per_gpu × (1 + server_overhead_fraction)
    capital_usd_per_year   = capex × r / (1 − (1 + r)^−n)   (an annuity at the financing rate r over
                             n years; capex / n when r = 0: straight-line depreciation)
    it_power_kw            = gpu_count × board_power_w / 1000 × (1 + server_power_overhead_fraction)
    average_load_fraction  = idle_power_fraction + (1 − idle_power_fraction) × utilization
    energy_usd_per_year    = it_power_kw × average_load_fraction × 8,760 × pue × power_usd_per_kwh
    colocation_usd_per_year= it_power_kw × colocation_usd_per_kw_month × 12
    total_usd_per_year     = capital + energy + colocation + staff
    usd_per_gpu_hour       = total_usd_per_year / (gpu_count × 8,760 × utilization)

Break-even against a rental at R USD per GPU-hour: the owned cost of a used hour equals R at

    u* = fixed_usd_per_gpu_year / (8,760 × (R − marginal_usd_per_busy_gpu_hour))

where the fixed part is everything paid whether the GPU works or not (capital, colocation, staff, idle power)
and the marginal part is the extra energy of a busy hour. u* > 1 means renting is cheaper at any utilisation.
Months to break even: the capex divided by the monthly saving of owning (rent for the used hours minus the
owned running cost), when that saving is positive.

Defaults and their grounds are in docs/methodology/ownership.md; the response lists every assumption.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

HOURS_PER_YEAR = 8_760.0
MONTHS_PER_YEAR = 12.0

# A GPU server costs more than its GPUs: CPUs, memory, NICs, switches and storage. An HGX H100 8-GPU
# server was widely reported at roughly 1.3-1.5x the price of its eight GPUs; 0.35 is an assumption.
DEFAULT_SERVER_OVERHEAD_FRACTION = 0.35
# The rest of the server draws power too: a DGX H100 is rated 10.2 kW for 8 x 700 W GPUs (5.6 kW).
DEFAULT_SERVER_POWER_OVERHEAD_FRACTION = 0.8
# An idle accelerator still draws power (roughly 10-30 % of board power on data-centre GPUs).
DEFAULT_IDLE_POWER_FRACTION = 0.2


@dataclass(frozen=True)
class OwnershipInputs:
    """A cluster you buy. Fractions are 0-1; money in USD."""

    gpu_count: int
    purchase_usd_per_gpu: float
    depreciation_years: float
    power_usd_per_kwh: float
    pue: float
    utilization: float
    board_power_w: float
    server_overhead_fraction: float = DEFAULT_SERVER_OVERHEAD_FRACTION
    server_power_overhead_fraction: float = DEFAULT_SERVER_POWER_OVERHEAD_FRACTION
    idle_power_fraction: float = DEFAULT_IDLE_POWER_FRACTION
    colocation_usd_per_kw_month: float = 0.0
    staff_usd_per_year: float = 0.0
    financing_rate_fraction: float = 0.0

    def __post_init__(self) -> None:
        checks = {
            "gpu_count": self.gpu_count >= 1,
            "purchase_usd_per_gpu": self.purchase_usd_per_gpu > 0,
            "depreciation_years": self.depreciation_years > 0,
            "power_usd_per_kwh": self.power_usd_per_kwh >= 0,
            "pue": self.pue >= 1,
            "utilization": 0 < self.utilization <= 1,
            "board_power_w": self.board_power_w > 0,
            "server_overhead_fraction": self.server_overhead_fraction >= 0,
            "server_power_overhead_fraction": self.server_power_overhead_fraction >= 0,
            "idle_power_fraction": 0 <= self.idle_power_fraction <= 1,
            "colocation_usd_per_kw_month": self.colocation_usd_per_kw_month >= 0,
            "staff_usd_per_year": self.staff_usd_per_year >= 0,
            "financing_rate_fraction": 0 <= self.financing_rate_fraction < 10,
        }
        for name, ok in checks.items():
            value = getattr(self, name)
            if not ok or not math.isfinite(value):
                raise ValueError(f"{name} = {value!r} is out of range")


@dataclass(frozen=True)
class OwnershipCost:
    """The yearly cost of the cluster, the cost of a used GPU-hour, and where it comes from."""

    capex_usd: float
    capital_usd_per_year: float
    energy_usd_per_year: float
    colocation_usd_per_year: float
    staff_usd_per_year: float
    total_usd_per_year: float
    used_gpu_hours_per_year: float
    usd_per_gpu_hour: float
    it_power_kw: float
    fixed_usd_per_gpu_year: float
    marginal_usd_per_busy_gpu_hour: float
    breakdown_usd_per_gpu_hour: dict[str, float] = field(default_factory=dict)


def annuity_factor(rate_fraction: float, years: float) -> float:
    """Yearly payment per dollar borrowed at `rate_fraction` over `years` (1/years when the rate is 0)."""
    discount = -math.expm1(-years * math.log1p(rate_fraction))  # 1 − (1 + r)^−n without cancellation
    if rate_fraction == 0 or discount == 0:
        return 1.0 / years
    return rate_fraction / discount


def ownership_cost(inputs: OwnershipInputs) -> OwnershipCost:
    """The owned cost per used GPU-hour at `inputs.utilization`, with its yearly breakdown."""
    capex = inputs.gpu_count * inputs.purchase_usd_per_gpu * (1.0 + inputs.server_overhead_fraction)
    capital = capex * annuity_factor(inputs.financing_rate_fraction, inputs.depreciation_years)
    it_power_kw = (
        inputs.gpu_count * inputs.board_power_w / 1000.0 * (1.0 + inputs.server_power_overhead_fraction)
    )
    energy_per_full_year = it_power_kw * HOURS_PER_YEAR * inputs.pue * inputs.power_usd_per_kwh
    idle = inputs.idle_power_fraction
    load_fraction = idle + (1.0 - idle) * inputs.utilization
    energy = energy_per_full_year * load_fraction
    colocation = it_power_kw * inputs.colocation_usd_per_kw_month * MONTHS_PER_YEAR
    staff = inputs.staff_usd_per_year
    total = capital + energy + colocation + staff
    used_hours = inputs.gpu_count * HOURS_PER_YEAR * inputs.utilization
    fixed_per_gpu_year = (capital + colocation + staff + energy_per_full_year * idle) / inputs.gpu_count
    marginal_per_busy_hour = energy_per_full_year * (1.0 - idle) / (inputs.gpu_count * HOURS_PER_YEAR)
    return OwnershipCost(
        capex_usd=capex,
        capital_usd_per_year=capital,
        energy_usd_per_year=energy,
        colocation_usd_per_year=colocation,
        staff_usd_per_year=staff,
        total_usd_per_year=total,
        used_gpu_hours_per_year=used_hours,
        usd_per_gpu_hour=total / used_hours,
        it_power_kw=it_power_kw,
        fixed_usd_per_gpu_year=fixed_per_gpu_year,
        marginal_usd_per_busy_gpu_hour=marginal_per_busy_hour,
        breakdown_usd_per_gpu_hour={
            "capital": capital / used_hours,
            "energy": energy / used_hours,
            "colocation": colocation / used_hours,
            "staff": staff / used_hours,
        },
    )


def break_even_utilization(cost: OwnershipCost, rental_usd_per_gpu_hour: float) -> float | None:
    """The utilisation at which owning costs the same per used hour as renting; None when renting is cheaper
    at every utilisation up to 100 % (or the rent does not even cover the energy of a busy hour)."""
    margin = rental_usd_per_gpu_hour - cost.marginal_usd_per_busy_gpu_hour
    if margin <= 0:
        return None
    utilization = cost.fixed_usd_per_gpu_year / (HOURS_PER_YEAR * margin)
    return utilization if utilization <= 1.0 else None


def months_to_break_even(cost: OwnershipCost, rental_usd_per_gpu_hour: float) -> float | None:
    """Months until the capex is repaid by renting less: capex ÷ (monthly rent avoided − monthly owned running
    cost, capital excluded). None when owning never saves money at this utilisation."""
    running_per_year = cost.total_usd_per_year - cost.capital_usd_per_year
    saving_per_year = rental_usd_per_gpu_hour * cost.used_gpu_hours_per_year - running_per_year
    if saving_per_year <= 0:
        return None
    return cost.capex_usd / (saving_per_year / MONTHS_PER_YEAR)


def crossover_curve(inputs: OwnershipInputs, utilizations: list[float]) -> list[tuple[float, float]]:
    """(utilisation, owned USD per used GPU-hour) for a chart against the flat rental price."""
    points = []
    for utilization in utilizations:
        cost = ownership_cost(_with_utilization(inputs, utilization))
        points.append((utilization, cost.usd_per_gpu_hour))
    return points


def _with_utilization(inputs: OwnershipInputs, utilization: float) -> OwnershipInputs:
    return replace(inputs, utilization=utilization)
