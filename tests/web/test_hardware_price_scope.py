"""GCP's GPU-only attach prices need a host VM: they stay on the sheet but are never called the cheapest."""

from __future__ import annotations

from datetime import date

from app.web.charts.hardware import OfferMetrics, cheapest_by_accelerator


def _offer(quote_id: int, usd: float, scope: str) -> OfferMetrics:
    return OfferMetrics(
        quote_id=quote_id,
        provider="gcp",
        instance_type=f"x{quote_id}",
        region="r",
        accelerator="V100-SXM2",
        accelerator_count=1,
        pricing_model="on_demand",
        usd_per_hour=usd,
        usd_per_accelerator_hour=usd,
        usd_per_pflop_hour={"bf16": usd / 0.125},
        usd_per_gb_hour=None,
        effective_from=date(2025, 1, 1),
        effective_to=None,
        verification="verified-in-source",
        source="s",
        price_scope=scope,
    )


def test_gpu_only_component_is_not_the_cheapest() -> None:
    rows = cheapest_by_accelerator([_offer(1, 0.5, "gpu_only_component"), _offer(2, 3.0, "instance_total")])
    assert [offer.quote_id for _, _, offer in rows] == [2]


def test_hardware_page_cards_skip_gpu_only_prices(client) -> None:
    # GCP's only V100 prices are GPU-only attach prices: the sheet lists them, no card calls them cheapest.
    params = {"provider": "gcp", "accelerator": "V100-SXM2"}
    page = client.get("/hardware", params=params).text
    assert "(gpu-only) V100x1" in page
    assert "cheapest per PFLOP-hour" not in page
    assert "cheapest per PFLOP-hour" in client.get("/hardware", params={"provider": "gcp"}).text
