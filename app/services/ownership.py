"""Owning versus renting: the owned cost of a GPU-hour for an accelerator on the sheet, against the cheapest
comparable rental (same accelerator, an instance with at least min(GPU count, 8) of them)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import date
from typing import Any

from sqlalchemy.orm import Session

from app.db.models import Accelerator
from app.engine.ownership import (
    DEFAULT_IDLE_POWER_FRACTION,
    DEFAULT_SERVER_OVERHEAD_FRACTION,
    DEFAULT_SERVER_POWER_OVERHEAD_FRACTION,
    OwnershipInputs,
    break_even_utilization,
    crossover_curve,
    months_to_break_even,
    ownership_cost,
)
from app.services.errors import NotFoundError, ValidationFailed
from app.services.price_sheet import cheapest_quote

CURVE_UTILIZATIONS = [round(0.05 * step, 2) for step in range(1, 21)]


@dataclass(frozen=True)
class OwnershipRequest:
    """What an owner knows; None takes the documented default (listed in the answer's assumptions)."""

    accelerator_id: int
    gpu_count: int
    purchase_usd_per_gpu: float
    depreciation_years: float
    power_usd_per_kwh: float
    pue: float
    utilization: float
    server_overhead_fraction: float | None = None
    colocation_usd_per_kw_month: float | None = None
    staff_usd_per_year: float | None = None
    financing_rate_fraction: float | None = None
    board_power_w: float | None = None
    rental_pricing_model: str = "on_demand"
    as_of: date | None = None


def estimate(session: Session, request: OwnershipRequest) -> dict[str, object]:
    accelerator = session.get(Accelerator, request.accelerator_id)
    if accelerator is None:
        raise NotFoundError(f"accelerator {request.accelerator_id} does not exist", field="accelerator_id")
    board_power_w = request.board_power_w or accelerator.board_power_w
    if not board_power_w:
        raise ValidationFailed(
            f"{accelerator.name} has no board power on the sheet: give board_power_w", field="board_power_w"
        )
    assumptions: list[str] = []

    def default(value: float | None, fallback: float, text: str) -> float:
        if value is None:
            assumptions.append(text)
            return fallback
        return value

    inputs = OwnershipInputs(
        gpu_count=request.gpu_count,
        purchase_usd_per_gpu=request.purchase_usd_per_gpu,
        depreciation_years=request.depreciation_years,
        power_usd_per_kwh=request.power_usd_per_kwh,
        pue=request.pue,
        utilization=request.utilization,
        board_power_w=board_power_w,
        server_overhead_fraction=default(
            request.server_overhead_fraction,
            DEFAULT_SERVER_OVERHEAD_FRACTION,
            f"server overhead {DEFAULT_SERVER_OVERHEAD_FRACTION:.0%} of the GPUs' price (CPUs, memory, "
            "network, storage; an assumption)",
        ),
        server_power_overhead_fraction=DEFAULT_SERVER_POWER_OVERHEAD_FRACTION,
        idle_power_fraction=DEFAULT_IDLE_POWER_FRACTION,
        colocation_usd_per_kw_month=default(
            request.colocation_usd_per_kw_month, 0.0, "no colocation cost (space, cooling) included"
        ),
        staff_usd_per_year=default(request.staff_usd_per_year, 0.0, "no staff cost included"),
        financing_rate_fraction=default(
            request.financing_rate_fraction, 0.0, "no cost of capital: straight-line depreciation"
        ),
    )
    assumptions.append(
        f"the rest of the server draws {DEFAULT_SERVER_POWER_OVERHEAD_FRACTION:.0%} on top of the GPUs' "
        f"{board_power_w:g} W boards; an idle GPU draws {DEFAULT_IDLE_POWER_FRACTION:.0%} of its board power"
    )
    if request.board_power_w is None:
        assumptions.append(f"board power {board_power_w:g} W from the accelerator sheet")
    cost = ownership_cost(inputs)
    min_per_instance = min(request.gpu_count, 8)
    rental = cheapest_quote(
        session, accelerator.id, request.rental_pricing_model, request.as_of, min_per_instance
    )
    comparison: dict[str, object] | None = None
    if rental is not None:
        rent = rental.usd_per_accelerator_hour
        comparison = {
            "price_quote_id": rental.id,
            "provider": rental.provider,
            "instance_type": rental.instance_type,
            "region": rental.region,
            "pricing_model": rental.pricing_model,
            "accelerator_count": rental.accelerator_count,
            "usd_per_gpu_hour": rent,
            "owned_minus_rented_usd_per_gpu_hour": cost.usd_per_gpu_hour - rent,
            "break_even_utilization": break_even_utilization(cost, rent),
            "months_to_break_even": months_to_break_even(cost, rent),
        }
    else:
        assumptions.append(
            f"no {request.rental_pricing_model} offer of {accelerator.name} with at least {min_per_instance} "
            "GPUs per instance is in effect: nothing to compare with"
        )
    breakdown = asdict(cost)
    return {
        "accelerator_id": accelerator.id,
        "accelerator_name": accelerator.name,
        "gpu_count": request.gpu_count,
        "utilization": request.utilization,
        "usd_per_gpu_hour": cost.usd_per_gpu_hour,
        "breakdown_usd_per_gpu_hour": breakdown.pop("breakdown_usd_per_gpu_hour"),
        "yearly": breakdown,
        "rental": comparison,
        "curve": [
            {"utilization": u, "owned_usd_per_gpu_hour": value}
            for u, value in crossover_curve(inputs, CURVE_UTILIZATIONS)
        ],
        "assumptions": assumptions,
    }


def owned_usd_per_gpu_hour(
    session: Session, accelerator_id: int, cluster: Mapping[str, Any]
) -> tuple[float, str]:
    """The owned cost per used GPU-hour of `cluster` (the fields of OwnershipRequest but the accelerator) on
    this accelerator, and where it comes from: the simulator's unit-cost basis when we own the hardware."""
    result = estimate(session, OwnershipRequest(accelerator_id=accelerator_id, **cluster))
    usd = float(result["usd_per_gpu_hour"])  # type: ignore[arg-type]
    return usd, (
        f"owned: {cluster['gpu_count']} GPUs at ${cluster['purchase_usd_per_gpu']:,.0f} over "
        f"{cluster['depreciation_years']:g} years, {cluster['utilization']:.0%} busy"
    )
