"""Load the shipped reference data (app/data/reference; its README says where each file comes from)
idempotently.

Each table is loaded only when it holds no reference rows yet, matched by natural key, so running the seed
twice changes nothing and a user's own edits are never overwritten. Rows that cannot be loaded are reported
with their line number and reason, never silently turned into zeros.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.db.models import Accelerator, MarketPrice, ModelConfig, PriceQuote, Scenario
from app.engine.architecture import PRESETS
from app.services import audit

REFERENCE_DIR = Path(__file__).resolve().parent.parent / "data" / "reference"
PRESET_DIR = Path(__file__).resolve().parent.parent / "data" / "presets"

# gpu_prices.csv names a family; accelerators.csv names a part (see the reference README).
FAMILY_TO_PART = {
    "A100-40GB": "A100-SXM4-40GB",
    "H200": "H200-SXM",
    "B200": "B200 (HGX)",
    "V100-16GB": "V100-SXM2",
    "V100-32GB": "V100-SXM2",
    "TPU-v6e": "TPU-v6e (Trillium)",
    "GH200": "GH200 (96GB)",
}

EVENT_TYPE_MAP = {
    "launch": "launch",
    "price_cut": "cut",
    "price_increase": "increase",
    "promo_end": "increase",
    "current_snapshot": "snapshot",
    "current_list": "snapshot",
    "price_change": "change",
    "time-of-day discount": "cut",
}


@dataclass
class SeedReport:
    added: dict[str, int] = field(default_factory=dict)
    skipped: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # loaded, but not as the source row reads

    def summary(self) -> str:
        parts = [f"{count} {table}" for table, count in self.added.items()]
        text = "added " + (", ".join(parts) if parts else "nothing (already loaded)")
        text += "".join(f"\n  note: {note}" for note in self.notes)
        return text + "".join(f"\n  skipped: {reason}" for reason in self.skipped)


def seed_reference_data(session: Session) -> SeedReport:
    report = SeedReport()
    _seed_accelerators(session, report)
    _seed_price_quotes(session, report)
    _seed_market_prices(session, report)
    _seed_capability_scores(session, report)
    _seed_model_presets(session, report)
    _seed_scenario_presets(session, report)
    session.flush()
    if report.added:  # one summary entry per load that changed something (a second run adds none)
        audit.record(
            session,
            "seed",
            "reference_data",
            None,
            "reference data loaded: " + report.summary().splitlines()[0],
            after={"added": dict(report.added), "skipped": len(report.skipped)},
        )
    return report


def _rows(filename: str) -> list[tuple[int, dict[str, str]]]:
    with (REFERENCE_DIR / filename).open(newline="", encoding="utf-8") as handle:
        return [(index + 2, row) for index, row in enumerate(csv.DictReader(handle))]


def _float(cell: str | None) -> float | None:
    cell = (cell or "").strip()
    return float(cell) if cell else None


def _leading_float(cell: str | None) -> float | None:
    """A cell such as '450-1000 (module, configurable)': its first number (the full text goes to notes)."""
    match = re.match(r"\s*(\d+(?:\.\d+)?)", cell or "")
    return float(match.group(1)) if match else None


def _add(session: Session, report: SeedReport, table: str, row: Any) -> None:
    session.add(row)
    report.added[table] = report.added.get(table, 0) + 1


def _seed_accelerators(session: Session, report: SeedReport) -> None:
    existing = set(session.scalars(select(Accelerator.name)))
    for _line, r in _rows("accelerators.csv"):
        if r["name"] in existing:
            continue
        _add(
            session,
            report,
            "accelerators",
            Accelerator(
                name=r["name"],
                vendor=r["vendor"],
                form_factor=r["form_factor"] or None,
                memory_gb=float(r["memory_gb"]),
                memory_type=r["memory_type"] or None,
                memory_bandwidth_tb_s=float(r["memory_bandwidth_tb_s"]),
                fp32_tflops=_float(r["fp32_tflops"]),
                tf32_tflops=_float(r["tf32_tflops_dense"]),
                bf16_tflops=_float(r["bf16_fp16_tflops_dense"]),
                fp8_tflops=_float(r["fp8_tflops_dense"]),
                int8_tops=_float(r["int8_tops_dense"]),
                fp4_tflops=_float(r["fp4_tflops_dense"]),
                board_power_w=_leading_float(r["tdp_watts"]),
                interconnect=r["interconnect"] or None,
                interconnect_bandwidth_gb_s=_float(r["interconnect_bandwidth_gb_s"]),
                release_year=int(r["release_year"]) if r["release_year"] else None,
                verification=r["verification"],
                source=r["source"],
                notes=r["notes"] + _range_note("tdp_watts", r["tdp_watts"]),
            ),
        )
    session.flush()


def _range_note(column: str, cell: str) -> str:
    try:
        float(cell or "0")
        return ""
    except ValueError:
        return f" [{column} in source: '{cell}'; the first number is used]"


def part_for_family(family: str, instance_type: str, notes: str, names: set[str]) -> str | None:
    """The accelerators.csv part behind a gpu_prices.csv family; PCIe where the offer says so."""
    says_pcie = "pcie" in f"{instance_type} {notes}".lower()
    if family == "H100":
        return "H100-PCIe" if says_pcie else "H100-SXM"
    if family == "A100-80GB":
        return "A100-PCIe-80GB" if says_pcie else "A100-SXM4-80GB"
    part = FAMILY_TO_PART.get(family, family)
    return part if part in names else None


def catalog_effective_from(data_date: str) -> date:
    """Catalog rows carry a vague snapshot date ("after 2025-08", "~2024"): take its first month or year."""
    match = re.search(r"(20\d\d)-(0[1-9]|1[0-2])(?!\d)", data_date)
    if match:
        return date(int(match.group(1)), int(match.group(2)), 1)
    year = re.search(r"20\d\d", data_date)
    return date(int(year.group(0)), 1, 1) if year else date(2025, 1, 1)


def _seed_price_quotes(session: Session, report: SeedReport) -> None:
    accelerators = {a.name: a.id for a in session.scalars(select(Accelerator))}
    existing = {
        (q.provider, q.instance_type, q.region, q.pricing_model) for q in session.scalars(select(PriceQuote))
    }
    for line, r in _rows("gpu_prices.csv"):
        part = part_for_family(r["accelerator_family"], r["instance_type"], r["notes"], set(accelerators))
        count = int(r["accelerator_count"])
        common = dict(
            provider=r["provider"],
            instance_type=r["instance_type"],
            region=r["region"],
            accelerator_id=accelerators.get(part) if part else None,
            accelerator_family=r["accelerator_family"],
            accelerator_count=count,
            price_scope=r["price_scope"],
            effective_from=catalog_effective_from(r["catalog_data_date"]),
            verification="verified-in-source",
            source=(
                f"{r['catalog_repo']} {r['catalog_file']} @ {r['catalog_commit'][:12]} "
                f"({r['catalog_data_date']})"
            ),
            notes=r["notes"],
        )
        offers = (
            ("on_demand", _float(r["price_usd_per_hour"])),
            ("spot", _float(r["spot_price_usd_per_hour"])),
        )
        spot_key = (r["provider"], r["instance_type"], r["region"], "spot")
        if offers[0][1] is None and offers[1][1] is not None and spot_key not in existing:
            report.notes.append(  # loaded (as a spot quote), so a note, not "skipped"
                f"gpu_prices.csv line {line} ({r['provider']} {r['instance_type']}): no on-demand price in "
                "the source; loaded as a spot quote"
            )
        for pricing_model, usd_per_hour in offers:
            key = (r["provider"], r["instance_type"], r["region"], pricing_model)
            if usd_per_hour is None or key in existing:
                continue
            _add(
                session,
                report,
                "price_quotes",
                PriceQuote(
                    **common,
                    pricing_model=pricing_model,
                    usd_per_hour=usd_per_hour,
                    usd_per_accelerator_hour=usd_per_hour / count,
                ),
            )


def _seed_market_prices(session: Session, report: SeedReport) -> None:
    existing = {(m.provider, m.model_name, m.effective_date) for m in session.scalars(select(MarketPrice))}
    for line, r in _rows("api_prices.csv"):
        input_usd, output_usd = _float(r["input_usd_per_1m"]), _float(r["output_usd_per_1m"])
        if input_usd is None or output_usd is None:
            report.skipped.append(
                f"api_prices.csv line {line} ({r['provider']} {r['model']}): no USD price in the source row"
            )
            continue
        effective = _month_or_day(r["effective_date"])
        if (r["provider"], r["model"], effective) in existing:
            continue
        raw_event = r["event_type"]
        event = EVENT_TYPE_MAP.get(raw_event.split(" (")[0], "change")
        _add(
            session,
            report,
            "market_prices",
            MarketPrice(
                provider=r["provider"],
                model_name=r["model"],
                tier=r["tier"],
                input_usd_per_million=input_usd,
                output_usd_per_million=output_usd,
                cached_input_usd_per_million=_float(r["cached_input_usd_per_1m"]),
                original_currency=r["original_currency"] or "USD",
                original_input_per_million=_float(r["original_input_per_1m"]),
                original_output_per_million=_float(r["original_output_per_1m"]),
                effective_date=effective,
                date_basis=r["date_basis"],
                event_type=event,
                change_note="; ".join(
                    p
                    for p in (r["change_note"], "" if raw_event == event else f"source event: {raw_event}")
                    if p
                ),
                source=r["source"],
                verification=r["verification"],
                notes=r["notes"],
            ),
        )


def _seed_capability_scores(session: Session, report: SeedReport) -> None:
    """Benchmark scores (capability_scores.csv) onto the market prices of the same provider and model, where
    no score is set yet (a score someone entered is never overwritten)."""
    session.flush()  # the market prices just added are visible to the query below
    scores = {(r["provider"], r["model"]): r for _, r in _rows("capability_scores.csv")}
    rows = session.scalars(select(MarketPrice).where(MarketPrice.capability_score.is_(None)))
    for row in rows:
        found = scores.get((row.provider, row.model_name))
        if found is None:
            continue
        row.capability_score = float(found["score"])
        row.capability_source = f"{found['benchmark']}: {found['source']} [{found['verification']}]" + (
            f"; {found['notes']}" if found["notes"] else ""
        )
        report.added["capability scores"] = report.added.get("capability scores", 0) + 1


def _month_or_day(text: str) -> date:
    """'2024-05-15', or '2024-12' (a month only: its first day; date_basis says so)."""
    return date.fromisoformat(text if len(text) > 7 else f"{text}-01")


def _seed_model_presets(session: Session, report: SeedReport) -> None:
    existing = set(session.scalars(select(ModelConfig.name)))
    columns = {c.key for c in ModelConfig.__table__.columns}
    for preset in _preset_dicts(PRESETS):
        if preset["name"] in existing:
            continue
        values = {k: v for k, v in preset.items() if k in columns}
        _add(session, report, "model_configs", ModelConfig(**values))


def _preset_dicts(presets: Any) -> list[dict[str, Any]]:
    """PRESETS may be a dict of name → dict/dataclass, or a list of either."""
    from collections.abc import Mapping
    from dataclasses import asdict, is_dataclass

    items = presets.values() if isinstance(presets, Mapping) else presets
    out = []
    for item in items:
        data = asdict(item) if is_dataclass(item) and not isinstance(item, type) else dict(item)
        if "sequence_length" in data and "context_length" not in data:
            data["context_length"] = data["sequence_length"]
        out.append(data)
    return out


def _seed_scenario_presets(session: Session, report: SeedReport) -> None:
    import json

    if not PRESET_DIR.is_dir():
        return
    existing = set(session.scalars(select(Scenario.name)))
    for path in sorted(PRESET_DIR.glob("*.json")):
        preset = json.loads(path.read_text(encoding="utf-8"))
        name = preset.get("name") or path.stem
        if name in existing:
            continue
        _add(
            session,
            report,
            "scenarios",
            Scenario(
                name=name,
                description=preset.get("description", ""),
                inputs=preset,
                source=preset.get("source", ""),
                is_preset=True,
            ),
        )
