"""Migrations and the reference-data seed on a real database of each backend."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, inspect, select
from sqlalchemy.orm import Session

from app.db.models import Accelerator, MarketPrice, ModelConfig, PriceQuote
from app.services.reference_data import catalog_effective_from, part_for_family, seed_reference_data
from tests.conftest import create_postgres_database, migrate_and_seed, run_alembic

TABLES = {"accelerators", "price_quotes", "market_prices", "model_configs", "scenarios", "simulation_runs"}


@pytest.fixture(params=["sqlite", "postgresql"])
def fresh_url(request: pytest.FixtureRequest):
    if request.param == "sqlite":
        yield f"sqlite:///{Path(tempfile.mkdtemp()) / 'fresh.sqlite3'}"
        return
    url, drop = create_postgres_database()
    yield url
    drop()


def test_upgrade_downgrade_upgrade_with_data_and_check(fresh_url: str) -> None:
    engine = migrate_and_seed(fresh_url)
    try:
        assert TABLES <= set(inspect(engine).get_table_names())
        run_alembic(engine, "check")  # models and migrations agree
        run_alembic(engine, "downgrade", "base")
        assert not TABLES & set(inspect(engine).get_table_names())
        run_alembic(engine, "upgrade", "head")
        with Session(engine) as session:
            report = seed_reference_data(session)
            session.commit()
        assert report.added["accelerators"] == 18
    finally:
        engine.dispose()


def test_seed_is_idempotent(db_engine: Engine, db_session: Session) -> None:
    counts = [
        db_session.scalar(select(func.count()).select_from(m))
        for m in (Accelerator, PriceQuote, MarketPrice, ModelConfig)
    ]
    report = seed_reference_data(db_session)
    assert report.added == {}
    assert counts == [
        db_session.scalar(select(func.count()).select_from(m))
        for m in (Accelerator, PriceQuote, MarketPrice, ModelConfig)
    ]


def test_seed_keeps_sources_and_verification(db_session: Session) -> None:
    h100 = db_session.scalars(select(Accelerator).where(Accelerator.name == "H100-SXM")).one()
    assert h100.bf16_tflops == pytest.approx(989.4) and h100.verification == "verified-in-source"
    assert "datasheet" in h100.source.lower()
    p5 = db_session.scalars(
        select(PriceQuote).where(
            PriceQuote.instance_type == "p5.48xlarge", PriceQuote.pricing_model == "on_demand"
        )
    ).one()
    assert p5.accelerator.name == "H100-SXM" and p5.accelerator_count == 8
    assert p5.usd_per_accelerator_hour == pytest.approx(p5.usd_per_hour / 8)
    assert "skypilot-catalog" in p5.source
    deepseek = db_session.scalars(select(MarketPrice).where(MarketPrice.provider == "DeepSeek")).first()
    assert deepseek is not None and deepseek.source


def test_spot_only_offer_is_loaded_as_spot_and_reported(db_session: Session) -> None:
    rows = db_session.scalars(select(PriceQuote).where(PriceQuote.instance_type == "8B200.240V")).all()
    assert [r.pricing_model for r in rows] == ["spot"]


def test_family_to_part_mapping() -> None:
    names = {"H100-SXM", "H100-PCIe", "A100-SXM4-80GB", "A100-PCIe-80GB", "V100-SXM2", "L4"}
    assert part_for_family("H100", "gpu_1x_h100_pcie", "H100 PCIe", names) == "H100-PCIe"
    assert part_for_family("H100", "p5.48xlarge", "", names) == "H100-SXM"
    assert part_for_family("A100-80GB", "x", "Secure Cloud; PCIe", names) == "A100-PCIe-80GB"
    assert part_for_family("V100-32GB", "x", "", names) == "V100-SXM2"
    assert part_for_family("L4", "x", "", names) == "L4"
    assert part_for_family("Unknown", "x", "", names) is None


def test_catalog_dates() -> None:
    from datetime import date

    assert catalog_effective_from("after 2025-08 (reflects AWS June-2025 P4/P5 price cut)") == date(
        2025, 8, 1
    )
    assert catalog_effective_from("2025-2026 (contains B300)") == date(2025, 1, 1)
    assert catalog_effective_from("~2024 (v6 schema)") == date(2024, 1, 1)


def test_timestamps_are_timezone_aware(db_session: Session) -> None:
    row = db_session.scalars(select(Accelerator)).first()
    assert row is not None and row.created_at.tzinfo is not None
