"""Import a SkyPilot catalog `vms.csv` as it is published (InstanceType, AcceleratorName, AcceleratorCount,
vCPUs, MemoryGiB, Price, SpotPrice, Region, AvailabilityZone, …) into the price sheet.

Each (instance type, region) becomes an on-demand quote (Price) and a spot quote (SpotPrice, the lowest over
the region's availability zones, as the shipped reference data reads it). Accelerator names map to parts as
the reference data's README says (A100 → A100-SXM4-40GB, A100-80GB → A100-SXM4-80GB unless PCIe, H100 →
H100-SXM unless PCIe, V100 → V100-SXM2, …). Rows without an accelerator (CPU machines) are skipped and
counted; rows with an unknown accelerator or a bad price are invalid with the reason. A GCP row without an
instance type is the price of the GPUs alone (`gpu_only_component`: a host VM must be added); a TPU row is a
whole TPU slice."""

from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.db.models import Accelerator
from app.services import quote_import
from app.services.errors import ValidationFailed
from app.services.reference_data import part_for_family

REQUIRED_COLUMNS = ("InstanceType", "AcceleratorName", "AcceleratorCount", "Price", "SpotPrice", "Region")
# SkyPilot's accelerator names → the reference data's families (others are the same word).
NAME_TO_FAMILY = {
    "A100": "A100-40GB",
    "A100-80GB-SXM": "A100-80GB",
    "H100-SXM": "H100",
    "H100-MEGA": "H100",
    "V100": "V100-16GB",
    "V100-32GB": "V100-32GB",
}
TPU_PREFIXES = (
    ("tpu-v5litepod", "TPU-v5e"),
    ("tpu-v5e", "TPU-v5e"),
    ("tpu-v5p", "TPU-v5p"),
    ("tpu-v6e", "TPU-v6e"),
)


@dataclass
class _Offer:
    line: int
    cells: dict[str, Any]
    on_demand_usd_per_hour: float | None
    spot_usd_per_hour: float | None


def import_catalog(
    session: Session, text: str, provider: str, effective_from: date, dry_run: bool
) -> quote_import.ImportReport:
    reader = csv.DictReader(io.StringIO(text))
    missing = [column for column in REQUIRED_COLUMNS if column not in (reader.fieldnames or [])]
    if missing:
        raise ValidationFailed(
            f"not a SkyPilot vms.csv: missing column(s) {', '.join(missing)}", field="file"
        )
    parts = {a.name for a in session.scalars(select(Accelerator))}
    source = f"SkyPilot catalog vms.csv ({provider}), imported for {effective_from.isoformat()}"
    offers: dict[tuple[str, str], _Offer] = {}
    rejected: list[quote_import.RowOutcome] = []
    skipped = 0
    for index, raw in enumerate(reader):
        line = index + 2
        name = (raw.get("AcceleratorName") or "").strip()
        if not name:
            skipped += 1  # a CPU machine: not an accelerator offer
            continue
        key_text = f"{provider} {raw.get('InstanceType') or ''} {raw.get('Region') or ''}".strip()
        try:
            cells = _cells(raw, name, provider, parts, source, effective_from)
            on_demand = _price(raw.get("Price"), "Price")
            spot = _price(raw.get("SpotPrice"), "SpotPrice")
        except ValueError as exc:
            rejected.append(
                quote_import.RowOutcome(line=line, status="invalid", key=key_text, reason=str(exc))
            )
            continue
        if on_demand is None and spot is None:
            rejected.append(
                quote_import.RowOutcome(
                    line=line, status="invalid", key=key_text, reason="Price and SpotPrice are both empty"
                )
            )
            continue
        key = (cells["instance_type"], cells["region"])
        seen = offers.get(key)
        if seen is None:
            offers[key] = _Offer(line, cells, on_demand, spot)
        else:  # another availability zone of the same region: keep the lowest prices
            seen.on_demand_usd_per_hour = _lowest(seen.on_demand_usd_per_hour, on_demand)
            seen.spot_usd_per_hour = _lowest(seen.spot_usd_per_hour, spot)
    rows: list[tuple[int, dict[str, Any]]] = []
    for offer in offers.values():
        for pricing_model, usd_per_hour in (
            ("on_demand", offer.on_demand_usd_per_hour),
            ("spot", offer.spot_usd_per_hour),
        ):
            if usd_per_hour is not None:
                rows.append(
                    (
                        offer.line,
                        {**offer.cells, "pricing_model": pricing_model, "usd_per_hour": repr(usd_per_hour)},
                    )
                )
    report = quote_import.import_quote_rows(
        session, rows, dry_run, f"SkyPilot catalog import ({provider})", rejected
    )
    report.skipped = skipped
    return report


def _cells(
    raw: dict[str, Any], name: str, provider: str, parts: set[str], source: str, effective_from: date
) -> dict[str, Any]:
    instance_type = (raw.get("InstanceType") or "").strip()
    count = _count(raw.get("AcceleratorCount"))
    scope = "instance_total"
    family = NAME_TO_FAMILY.get(name, name)
    part: str | None
    tpu = next((fam for prefix, fam in TPU_PREFIXES if name.lower().startswith(prefix)), None)
    if tpu is not None:
        scope, family = "tpu_slice", tpu
        part = next((p for p in parts if p.startswith(tpu)), None)
        instance_type = instance_type or name
    else:
        part = part_for_family(family, instance_type, "", parts)
        if not instance_type:
            scope = "gpu_only_component"
            instance_type = f"{name} x{count:g} (GPU only)"
    if part is None:
        raise ValueError(f"AcceleratorName: '{name}' is not an accelerator on the sheet (add it first)")
    return {
        "provider": provider,
        "instance_type": instance_type,
        "region": (raw.get("Region") or "").strip(),
        "accelerator_name": part,
        "accelerator_family": family,
        "accelerator_count": str(count),  # cells are text, as in a CSV row
        "price_scope": scope,
        "effective_from": effective_from.isoformat(),
        "source": source,
        "verification": "verified-in-source",
    }


def _count(cell: Any) -> int:
    try:
        value = float(cell)
    except (TypeError, ValueError):
        raise ValueError(f"AcceleratorCount: '{cell}' is not a number") from None
    if not math.isfinite(value) or value <= 0 or value != int(value):
        raise ValueError(f"AcceleratorCount: '{cell}' is not a positive whole number")
    return int(value)


def _price(cell: Any, column: str) -> float | None:
    text = (cell or "").strip() if isinstance(cell, str) else cell
    if text in ("", None):
        return None
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"{column}: '{text}' is not a number") from None
    if not math.isfinite(value) or value <= 0:
        raise ValueError(f"{column}: {text} is not a positive price")
    return value


def _lowest(a: float | None, b: float | None) -> float | None:
    if a is None or b is None:
        return a if b is None else b
    return min(a, b)
