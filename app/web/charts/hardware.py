"""Price-sheet views: derived unit metrics per offer and the charts of the Hardware page.

$ per PFLOP-hour = $ per accelerator-hour / (dense peak TFLOP/s / 1000): what one hour of a petaFLOP/s of
peak costs at a precision (unsupported precisions have no value, never zero). $ per GB-hour = $ per
accelerator-hour / memory GB: what an hour of one GB of HBM costs, the metric for memory-bound serving.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date

from app.web.charts.base import Chart, axis, color, figure, layout, table
from app.web.formatting import usd

METRIC_PRECISIONS: tuple[str, ...] = ("tf32", "bf16", "fp8", "fp4")
PRECISION_LABELS = {
    "fp32": "FP32",
    "tf32": "TF32",
    "bf16": "BF16/FP16",  # V100 and T4 have FP16 only: the sheet keeps their FP16 peak here
    "fp8": "FP8",
    "int8": "INT8",
    "fp4": "FP4",
}
PRICING_LABELS = {
    "on_demand": "on demand",
    "spot": "spot",
    "reserved_1y": "reserved 1 y",
    "reserved_3y": "reserved 3 y",
    "negotiated": "negotiated",
}


@dataclass(frozen=True)
class OfferMetrics:
    """One row of the price sheet with its derived unit metrics (None where the input is missing)."""

    quote_id: int
    provider: str
    instance_type: str
    region: str
    accelerator: str
    accelerator_count: int
    pricing_model: str
    usd_per_hour: float
    usd_per_accelerator_hour: float
    usd_per_pflop_hour: dict[str, float | None]
    usd_per_gb_hour: float | None
    effective_from: date
    effective_to: date | None
    verification: str
    source: str
    # "gpu_only_component" (GCP GPU attach price) needs a host VM: not a whole offer, never "cheapest".
    price_scope: str = "instance_total"

    @property
    def is_whole_offer(self) -> bool:
        return self.price_scope != "gpu_only_component"


def usd_per_pflop_hour(usd_per_accelerator_hour: float, peak_tflops: float | None) -> float | None:
    if not peak_tflops:
        return None
    return usd_per_accelerator_hour / (peak_tflops / 1000.0)


def usd_per_gb_hour(usd_per_accelerator_hour: float, memory_gb: float | None) -> float | None:
    return usd_per_accelerator_hour / memory_gb if memory_gb else None


def offer_metrics(quote: object, accelerator: object | None) -> OfferMetrics:
    """Derive the unit metrics of a PriceQuote row (duck-typed) and its Accelerator row."""
    per_acc = float(quote.usd_per_accelerator_hour)  # type: ignore[attr-defined]
    peaks = {
        "tf32": getattr(accelerator, "tf32_tflops", None),
        "bf16": getattr(accelerator, "bf16_tflops", None),
        "fp8": getattr(accelerator, "fp8_tflops", None),
        "fp4": getattr(accelerator, "fp4_tflops", None),
    }
    return OfferMetrics(
        quote_id=quote.id,  # type: ignore[attr-defined]
        provider=quote.provider,  # type: ignore[attr-defined]
        instance_type=quote.instance_type,  # type: ignore[attr-defined]
        region=quote.region,  # type: ignore[attr-defined]
        accelerator=getattr(accelerator, "name", None) or quote.accelerator_family,  # type: ignore[attr-defined]
        accelerator_count=quote.accelerator_count,  # type: ignore[attr-defined]
        pricing_model=quote.pricing_model,  # type: ignore[attr-defined]
        usd_per_hour=float(quote.usd_per_hour),  # type: ignore[attr-defined]
        usd_per_accelerator_hour=per_acc,
        usd_per_pflop_hour={p: usd_per_pflop_hour(per_acc, peaks[p]) for p in METRIC_PRECISIONS},
        usd_per_gb_hour=usd_per_gb_hour(per_acc, getattr(accelerator, "memory_gb", None)),
        effective_from=quote.effective_from,  # type: ignore[attr-defined]
        effective_to=quote.effective_to,  # type: ignore[attr-defined]
        verification=quote.verification,  # type: ignore[attr-defined]
        source=quote.source,  # type: ignore[attr-defined]
        price_scope=getattr(quote, "price_scope", "instance_total") or "instance_total",
    )


def cheapest_by_accelerator(
    offers: Iterable[OfferMetrics], precision: str = "bf16"
) -> list[tuple[str, str, OfferMetrics]]:
    """Per (accelerator, pricing model): the whole offer with the lowest $/PFLOP-hour at `precision`."""
    best: dict[tuple[str, str], OfferMetrics] = {}
    for offer in offers:
        value = offer.usd_per_pflop_hour.get(precision)
        if value is None or not offer.is_whole_offer:
            continue
        key = (offer.accelerator, offer.pricing_model)
        current = best.get(key)
        if current is None or value < (current.usd_per_pflop_hour[precision] or float("inf")):
            best[key] = offer
    rows = [(acc, model, offer) for (acc, model), offer in best.items()]
    return sorted(rows, key=lambda r: r[2].usd_per_pflop_hour[precision] or 0.0)


def pflop_hour_chart(offers: Sequence[OfferMetrics], precision: str = "bf16") -> Chart:
    label = PRECISION_LABELS.get(precision, precision.upper())
    rows = cheapest_by_accelerator(offers, precision)
    accelerators = sorted(
        {acc for acc, _, _ in rows},
        key=lambda a: min(o.usd_per_pflop_hour[precision] or 0 for x, _, o in rows if x == a),
        reverse=True,
    )
    data = []
    for index, model in enumerate(m for m in PRICING_LABELS if any(r[1] == m for r in rows)):
        points = {acc: offer for acc, m, offer in rows if m == model}
        ys = [acc for acc in accelerators if acc in points]
        xs = [points[acc].usd_per_pflop_hour[precision] for acc in ys]
        text = [
            f"{usd(x)} per PFLOP-hour · {points[a].provider} {points[a].instance_type}"
            for x, a in zip(xs, ys, strict=False)
        ]
        data.append(
            {
                "type": "bar",
                "orientation": "h",
                "name": PRICING_LABELS[model],
                "x": xs,
                "y": ys,
                "marker": {"color": color(index)},
                "text": text,
                "hovertemplate": "%{y}: %{text}<extra></extra>",
                "textposition": "none",
            }
        )
    fig = figure(
        data,
        layout(
            axis(f"$ per PFLOP-hour at {label} (dense peak)", tickprefix="$"),
            axis("Accelerator", type="category"),
            barmode="group",
            height=max(320, 30 * len(accelerators) + 120),
            margin={"l": 150, "r": 16, "t": 8, "b": 80},
        ),
    )
    if rows:
        acc, model, offer = rows[0]
        summary = (
            f"The cheapest {label} compute on the sheet is {acc} ({PRICING_LABELS.get(model, model)}, "
            f"{offer.provider}) at {usd(offer.usd_per_pflop_hour[precision])} per PFLOP-hour."
        )
    else:
        summary = f"No offer on the filtered sheet has a {label} peak, so no $ per PFLOP-hour can be shown."
    tbl = table(
        (
            "Accelerator",
            "Pricing model",
            "Provider",
            "Instance",
            "$ / accelerator-hour",
            f"$ / PFLOP-hour ({label})",
        ),
        [
            (
                acc,
                PRICING_LABELS.get(m, m),
                o.provider,
                o.instance_type,
                usd(o.usd_per_accelerator_hour),
                usd(o.usd_per_pflop_hour[precision]),
            )
            for acc, m, o in rows
        ],
    )
    return Chart("pflop-hour", f"Cheapest $ per PFLOP-hour at {label}, per accelerator", summary, fig, tbl)


def price_history_chart(history: Sequence[OfferMetrics], as_of: date) -> Chart:
    """Step line of one offer's dated prices ($ per accelerator-hour); the last row runs to `as_of`."""
    history = sorted(history, key=lambda o: o.effective_from)
    name = (
        f"{history[0].provider} {history[0].instance_type} ({PRICING_LABELS.get(history[0].pricing_model)})"
        if history
        else "offer"
    )
    xs: list[str] = []
    ys: list[float] = []
    for offer in history:
        xs.append(offer.effective_from.isoformat())
        ys.append(offer.usd_per_accelerator_hour)
    if history:
        end = history[-1].effective_to or max(as_of, history[-1].effective_from)
        xs.append(end.isoformat())
        ys.append(history[-1].usd_per_accelerator_hour)
    data = [
        {
            "type": "scatter",
            "mode": "lines+markers",
            "line": {"shape": "hv", "color": color(0), "width": 2.5},
            "name": name,
            "x": xs,
            "y": ys,
            "hovertemplate": "%{x}: $%{y:.3f} per accelerator-hour<extra></extra>",
        }
    ]
    fig = figure(
        data,
        layout(
            axis("Effective from (date)", type="date"),
            # An explicit top 20 % above the highest price: the line never sits above the last labelled tick.
            axis("$ per accelerator-hour", tickprefix="$", range=[0, max(ys, default=1.0) * 1.2]),
            showlegend=False,
        ),
    )
    if len(history) > 1:
        first, last = history[0].usd_per_accelerator_hour, history[-1].usd_per_accelerator_hour
        change = (last - first) / first
        ratio = f"{change * 100:+.0f} %" if abs(change) < 10 else f"{last / first:,.3g}×"
        summary = (
            f"{name} moved from {usd(first)} to {usd(last)} per accelerator-hour "
            f"({ratio}) over {len(history)} dated prices."
        )
    elif history:
        summary = (
            f"{name} has one price on record: {usd(history[0].usd_per_accelerator_hour)} "
            "per accelerator-hour "
            f"since {history[0].effective_from.isoformat()}."
        )
    else:
        summary = "No dated prices for this offer."
    tbl = table(
        ("Effective from", "Effective to", "$ / hour (instance)", "$ / accelerator-hour", "Source"),
        [
            (
                o.effective_from.isoformat(),
                o.effective_to.isoformat() if o.effective_to else "current",
                usd(o.usd_per_hour),
                usd(o.usd_per_accelerator_hour),
                o.source,
            )
            for o in history
        ],
    )
    return Chart("price-history", f"Price history: {name}", summary, fig, tbl)
