"""Whole-database JSON export/import and the price-quote CSV import (dry run, commit, all-or-nothing)."""

from __future__ import annotations

import copy
import datetime

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from app.db.measurements import Measurement
from app.db.models import PriceQuote
from app.services.transfer import export_document, import_document

HEADER = (
    "provider,instance_type,region,accelerator_name,accelerator_count,pricing_model,usd_per_hour,effective_from\n"
)


def _upload(client, text: str, dry_run: bool):
    files = {"file": ("quotes.csv", text.encode(), "text/csv")}
    return client.post("/api/v1/price-quotes/import", params={"dry_run": dry_run}, files=files)


def test_csv_dry_run_reports_the_diff_and_writes_nothing(client) -> None:
    before = client.get("/api/v1/price-quotes", params={"include_history": True}).json()["total"]
    text = HEADER + (
        "aws,p5.48xlarge,us-east-1,H100-SXM,8,on_demand,55.04,2026-01-01\n"  # same price: unchanged
        "aws,p4d.24xlarge,us-east-1,A100-SXM4-40GB,8,on_demand,19.99,2026-01-01\n"  # changed
        "newcloud,h100x8,eu,H100-SXM,8,on_demand,16.0,2026-01-01\n"  # added
        "newcloud,h100x1,eu,H100-SXM,1,on_demand,-2,2026-01-01\n"  # invalid: negative
        "newcloud,h100x2,eu,NoSuchGPU,2,on_demand,4,2026-01-01\n"  # invalid: unknown accelerator
    )
    report = _upload(client, text, dry_run=True)
    assert report.status_code == 200, report.text
    body = report.json()
    by_line = {row["line"]: row for row in body["rows"]}
    assert by_line[3]["status"] == "changed" and by_line[3]["after_usd_per_hour"] == 19.99
    assert by_line[4]["status"] == "added"
    assert by_line[5]["status"] == "invalid" and "usd_per_hour" in by_line[5]["reason"]
    assert by_line[6]["status"] == "invalid" and "NoSuchGPU" in by_line[6]["reason"]
    assert (body["added"], body["changed"], body["invalid"], body["committed"]) == (1, 1, 2, False)
    assert client.get("/api/v1/price-quotes", params={"include_history": True}).json()["total"] == before


def test_csv_commit_with_an_invalid_row_writes_nothing(client) -> None:
    before = client.get("/api/v1/price-quotes", params={"include_history": True}).json()["total"]
    text = HEADER + "newcloud,h100x8,eu,H100-SXM,8,on_demand,16.0,2026-01-01\nbad,row,,,zero,spot,x,2026\n"
    response = _upload(client, text, dry_run=False)
    assert response.status_code == 422 and "nothing was imported" in str(response.json())
    assert client.get("/api/v1/price-quotes", params={"include_history": True}).json()["total"] == before


def test_csv_commit_adds_and_dates_changes(client) -> None:
    text = HEADER + (
        "aws,p4d.24xlarge,us-east-1,A100-SXM4-40GB,8,on_demand,19.99,2026-01-01\n"
        "newcloud,h100x8,eu,H100-SXM,8,on_demand,16.0,2026-01-01\n"
    )
    body = _upload(client, text, dry_run=False).json()
    assert body["committed"] and (body["added"], body["changed"]) == (1, 1)
    current = client.get("/api/v1/price-quotes", params={"provider": "aws", "as_of": "2026-02-01"}).json()
    p4d = [
        q
        for q in current["items"]
        if q["instance_type"] == "p4d.24xlarge" and q["pricing_model"] == "on_demand"
    ]
    assert [q["usd_per_hour"] for q in p4d] == [19.99]
    again = _upload(client, text, dry_run=True).json()
    assert again["unchanged"] == 2 and again["added"] == again["changed"] == 0


def test_csv_without_rows_or_not_utf8_is_refused(client) -> None:
    assert _upload(client, "", dry_run=True).status_code == 422
    files = {"file": ("q.csv", b"\xff\xfe\x00bad", "text/csv")}
    assert client.post("/api/v1/price-quotes/import", files=files).status_code == 422


def _measurement_values(document: dict) -> dict:  # type: ignore[type-arg]
    model_id = next(m["id"] for m in document["model_configs"] if m["name"] == "Llama 2 7B")
    acc_id = next(a["id"] for a in document["accelerators"] if a["name"] == "H100-SXM")
    return {
        "kind": "serving",
        "model_config_id": model_id,
        "accelerator_id": acc_id,
        "gpu_count": 1,
        "precision": "fp8",
        "activation_precision": "fp8",
        "prompt_token_count": 2048,
        "output_token_count": 128,
        "concurrency": 64,
        "tokens_per_second": 2500.5,
        "measured_on": datetime.date(2026, 11, 20),
        "source": "our vLLM replica",
    }


def _add_measurements(session: Session) -> None:
    values = _measurement_values(export_document(session))
    session.add(Measurement(**values))
    session.add(
        Measurement(
            **{
                **values,
                "kind": "training",
                "gpu_count": 64,
                "precision": "bf16",
                "activation_precision": None,
                "prompt_token_count": None,
                "output_token_count": None,
                "concurrency": None,
                "tokens_per_second": 5.0e5,
                "notes": "run 42",
            }
        )
    )
    session.flush()


def test_export_import_export_is_identical(db_engine: Engine, db_session: Session) -> None:
    from tests.conftest import create_postgres_database, migrate_empty

    _add_measurements(db_session)
    first = export_document(db_session)
    assert first["schema_version"] == 1 and len(first["accelerators"]) == 18
    # The user's measurements (issue 10) travel too, after the models and accelerators they point to.
    assert [m["kind"] for m in first["measurements"]] == ["serving", "training"]
    if db_engine.dialect.name == "sqlite":
        import tempfile
        from pathlib import Path

        url, drop = f"sqlite:///{Path(tempfile.mkdtemp()) / 'empty.sqlite3'}", lambda: None
    else:
        url, drop = create_postgres_database()
    engine = migrate_empty(url)
    try:
        with Session(engine) as session:
            counts = import_document(session, copy.deepcopy(first))
            session.commit()
        assert counts["price_quotes"] == len(first["price_quotes"])
        assert counts["measurements"] == 2
        with Session(engine) as session:
            assert export_document(session) == first
            # New rows continue after the imported ids.
            session.add(
                PriceQuote(
                    **{
                        **{
                            k: v
                            for k, v in first["price_quotes"][0].items()
                            if k
                            not in (
                                "id",
                                "created_at",
                                "updated_at",
                                "version",
                                "effective_from",
                                "effective_to",
                            )
                        },
                        "instance_type": "fresh",
                        "effective_from": __import__("datetime").date(2026, 1, 1),
                    }
                )
            )
            session.flush()
            assert max(session.scalars(select(PriceQuote.id))) == len(first["price_quotes"]) + 1
            fresh = Measurement(**{**_measurement_values(first), "notes": "after the import"})
            session.add(fresh)
            session.flush()
            assert fresh.id == max(m["id"] for m in first["measurements"]) + 1
    finally:
        engine.dispose()
        drop()


def test_import_refuses_a_non_empty_database_and_bad_documents(client) -> None:
    document = client.get("/api/v1/export").json()
    assert client.post("/api/v1/import", json=document).status_code == 409
    assert client.post("/api/v1/import", json={**document, "schema_version": 99}).status_code == 422


def test_import_validates_every_row_before_writing(db_engine: Engine, db_session: Session) -> None:
    from app.services.errors import ValidationFailed

    document = export_document(db_session)
    broken = copy.deepcopy(document)
    broken["price_quotes"][-1]["usd_per_hour"] = -5
    import tempfile
    from pathlib import Path

    from tests.conftest import migrate_empty

    engine = migrate_empty(f"sqlite:///{Path(tempfile.mkdtemp()) / 'e.sqlite3'}")
    with Session(engine) as session:
        with pytest.raises(ValidationFailed, match="usd_per_hour"):
            import_document(session, broken)
        session.rollback()
        assert export_document(session)["accelerators"] == []
    engine.dispose()


def test_import_validates_measurements_like_the_api(db_engine: Engine, db_session: Session) -> None:
    import tempfile
    from pathlib import Path

    from app.services.errors import ValidationFailed
    from tests.conftest import migrate_empty

    _add_measurements(db_session)
    document = export_document(db_session)
    engine = migrate_empty(f"sqlite:///{Path(tempfile.mkdtemp()) / 'm.sqlite3'}")
    try:
        for key, value, named in (
            ("tokens_per_second", -1.0, "tokens_per_second"),
            ("kind", "inference", "kind"),
            ("precision", "fp3", "precision"),
            ("prompt_token_count", None, "prompt_token_count"),  # a serving row needs its prompt length
        ):
            broken = copy.deepcopy(document)
            broken["measurements"][0][key] = value
            with Session(engine) as session:
                with pytest.raises(ValidationFailed, match=r"measurements\[0\]") as refused:
                    import_document(session, broken)
                assert named in str(refused.value) or "prompt_token_count" in str(refused.value)
                session.rollback()
                assert export_document(session)["accelerators"] == []
    finally:
        engine.dispose()
