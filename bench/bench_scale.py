"""Scale benchmark (issue 17): pages, API lists, the serving sweep and export with a grown database.

For each backend (SQLite always; PostgreSQL when reachable at 127.0.0.1:5432 — POSTGRES_ADMIN_URL), a fresh
database is migrated and seeded (`pricewar migrate`, `pricewar seed`: 212 price quotes, 132 market prices) and
every page and API list is timed in-process (FastAPI's TestClient, the app's own session factory replaced by
one on this database): the first request after the data changed (the per-worker caches miss) and the median
of BENCH_SCALE_REQUESTS warm requests (default 15). Then the database is grown, in bulk (SQLite executemany,
PostgreSQL COPY), to

- 100,000 price quotes with dated history (50,000 offers, each a closed row and its current successor),
- 20,000 market prices, 5,000 stored runs, 1,000,000 audit entries,

ANALYZEd, and timed again; growth = large warm / small warm. `pricewar export` is run on both sizes in a
child process and its peak RSS (wait4) reported: flat memory means the large export stays near the small one.

Targets (the issue's, this machine): at 100k quotes every page warm ≤ 50 ms and first ≤ 300 ms, API lists ≤
20 ms, the serving sweep over every accelerator ≤ 100 ms, growth ≤ ×3, the audit page and API at 1M entries ≤
50 ms. The machine is shared (2 cores, other test suites running): times are upper bounds. Prints PASS/MISS per
target; exit status 0 unless BENCH_STRICT=1 and a target is missed. BENCH_SCALE_BACKENDS=sqlite limits the run;
BENCH_SCALE_AUDIT (default 1,000,000) and BENCH_SCALE_QUOTES (default 100,000) shrink it for a quick look.
Run: `.venv/bin/python bench/bench_scale.py`.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("PRICEWAR_ENVIRONMENT", "test")

from sqlalchemy import Engine, create_engine, text  # noqa: E402
from sqlalchemy.orm import Session, sessionmaker  # noqa: E402

REQUESTS = int(os.environ.get("BENCH_SCALE_REQUESTS", "15"))
QUOTES = int(os.environ.get("BENCH_SCALE_QUOTES", "100000"))
MARKET = int(os.environ.get("BENCH_SCALE_MARKET", "20000"))
RUNS = int(os.environ.get("BENCH_SCALE_RUNS", "5000"))
AUDIT = int(os.environ.get("BENCH_SCALE_AUDIT", "1000000"))
BACKENDS = os.environ.get("BENCH_SCALE_BACKENDS", "sqlite,postgresql").split(",")
STRICT = os.environ.get("BENCH_STRICT") == "1"
POSTGRES_ADMIN_URL = os.environ.get(
    "POSTGRES_ADMIN_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
PRICEWAR = str(ROOT / ".venv" / "bin" / "pricewar")

PAGES = [
    "/",
    "/hardware",
    "/hardware?sort=usd_per_hour&page=3",
    "/hardware?sort=tokens_per_usd&dir=desc",
    "/hardware?provider=aws",
    "/models",
    "/strategy",
    "/explorer",
    "/runs",
    "/compare",
    "/methodology",
    "/audit",
    "/audit?offset=5000",
]
API = [
    "/api/v1/price-quotes?limit=50",
    "/api/v1/price-quotes?limit=50&offset=5000",
    "/api/v1/price-quotes?provider=aws&limit=50",
    "/api/v1/price-quotes?include_history=true&limit=50",
    "/api/v1/market-prices?limit=50",
    "/api/v1/market-prices?sort=-effective_date&limit=50",
    "/api/v1/audit?limit=50",
    "/api/v1/audit?action=update&limit=50",
]
SWEEP = "POST /api/v1/estimates/sweep (serving, every accelerator)"
BASELINE = "/healthz"  # the test client's and middleware's own cost per request (reported, no target)
TARGETS = {"page_warm": 50.0, "page_first": 300.0, "api": 20.0, "sweep": 100.0, "audit": 50.0, "growth": 3.0}


# ---- databases ------------------------------------------------------------------------------------------


def _pricewar(*args: str, url: str, stdout: Any = subprocess.DEVNULL) -> tuple[int, int]:
    """Run the CLI; returns (exit status, peak RSS of the child in KiB)."""
    env = {**os.environ, "DATABASE_URL": url}
    with tempfile.TemporaryFile() as errors:
        process = subprocess.Popen([PRICEWAR, *args], env=env, stdout=stdout, stderr=errors)
        _, status, usage = os.wait4(process.pid, 0)
        process.returncode = os.waitstatus_to_exitcode(status)
        if process.returncode:
            errors.seek(0)
            raise RuntimeError(f"pricewar {' '.join(args)} failed: {errors.read().decode()[-800:]}")
    return process.returncode, int(usage.ru_maxrss)


def _database(backend: str) -> tuple[str, Callable[[], None]]:
    if backend == "sqlite":
        folder = Path(tempfile.mkdtemp(prefix="pricewar-scale-"))
        return f"sqlite:///{folder / 'scale.sqlite3'}", lambda: shutil.rmtree(folder, ignore_errors=True)
    name = f"pricewar_scale_{uuid.uuid4().hex[:8]}"
    admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))

    def drop() -> None:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}", drop


def _postgres_available() -> bool:
    try:
        probe = create_engine(POSTGRES_ADMIN_URL)
        with probe.connect() as connection:
            connection.execute(text("SELECT 1"))
        probe.dispose()
        return True
    except Exception:  # noqa: BLE001
        return False


# ---- growth ---------------------------------------------------------------------------------------------

QUOTE_COLUMNS = (
    "provider",
    "instance_type",
    "region",
    "accelerator_id",
    "accelerator_family",
    "accelerator_count",
    "pricing_model",
    "usd_per_hour",
    "usd_per_accelerator_hour",
    "discount_percent",
    "price_scope",
    "effective_from",
    "effective_to",
    "source",
    "verification",
    "notes",
    "version",
    "created_at",
    "updated_at",
)
MARKET_COLUMNS = (
    "provider",
    "model_name",
    "tier",
    "input_usd_per_million",
    "output_usd_per_million",
    "original_currency",
    "effective_date",
    "date_basis",
    "event_type",
    "change_note",
    "source",
    "verification",
    "notes",
    "version",
    "created_at",
    "updated_at",
)
RUN_COLUMNS = (
    "name",
    "inputs",
    "seed",
    "path_count",
    "horizon_months",
    "engine_version",
    "results",
    "version",
    "created_at",
    "updated_at",
)
AUDIT_COLUMNS = ("at", "actor", "action", "entity", "entity_id", "summary")
PROVIDERS = (
    "aws",
    "gcp",
    "azure",
    "lambda",
    "oci",
    "coreweave",
    "runpod",
    "vast",
    "fluidstack",
    "paperspace",
)
PRICING = ("on_demand", "spot", "reserved_1y", "reserved_3y")


def _quotes(accelerators: list[int], count: int, rnd: random.Random) -> Iterator[tuple[Any, ...]]:
    """Offers that each have a closed earlier price and its current successor (dated history)."""
    today = date.today()
    now = datetime.now(UTC)
    for i in range(count // 2):
        gpus = rnd.choice((1, 2, 4, 8))
        usd = round(rnd.uniform(0.4, 14.0) * gpus, 4)
        changed = today - timedelta(days=rnd.randint(5, 700))
        base = (
            PROVIDERS[i % len(PROVIDERS)],
            f"scale-{i}.{gpus}x",
            f"region-{i % 23}",
            rnd.choice(accelerators),
            "scale",
            gpus,
            PRICING[i % len(PRICING)],
        )
        tail = ("instance_total",)
        old, new = usd * rnd.uniform(1.05, 1.6), usd
        yield (
            *base,
            old,
            old / gpus,
            0.0,
            *tail,
            today - timedelta(days=900),
            changed,
            "bench",
            "user-entered",
            "",
            1,
            now,
            now,
        )
        yield (*base, new, new / gpus, 0.0, *tail, changed, None, "bench", "user-entered", "", 1, now, now)


def _market(count: int) -> Iterator[tuple[Any, ...]]:
    today, now = date.today(), datetime.now(UTC)
    for i in range(count):
        yield (
            f"lab-{i % 40}",
            f"model-{i % 1500}",
            "",
            0.05 + (i % 300) / 10,
            0.2 + (i % 500) / 10,
            "USD",
            today - timedelta(days=i % 2000),
            "day",
            ("cut", "launch", "increase")[i % 3],
            "",
            "bench",
            "user-entered",
            "",
            1,
            now,
            now,
        )


def _runs(count: int) -> Iterator[tuple[Any, ...]]:
    now = datetime.now(UTC)
    results = json.dumps({"strategies": [{"name": "hold", "survival_probability": 0.8}]})
    for i in range(count):
        yield (f"bench run {i}", "{}", i, 1000, 36, "1", results, 1, now, now)


def _audit(count: int) -> Iterator[tuple[Any, ...]]:
    now = datetime.now(UTC)
    actions = ("update", "create", "price_change", "login")
    entities = ("price_quotes", "market_prices", "users", "scenarios")
    for i in range(count):
        yield (
            now - timedelta(seconds=count - i),
            f"user-{i % 97}",
            actions[i % 4],
            entities[i % 4],
            i % 50_000,
            "bench entry",
        )


def _sqlite_value(value: Any) -> Any:
    """What SQLAlchemy stores in SQLite: naive UTC text with microseconds, ISO dates."""
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    if isinstance(value, date):
        return value.isoformat()
    return value


def grow(engine: Engine) -> float:
    """Bulk-load the large data set; returns seconds."""
    started = time.perf_counter()
    rnd = random.Random(17)
    with Session(engine) as session:
        accelerators = [int(a) for a in session.scalars(text("SELECT id FROM accelerators"))]
    tables = (
        ("price_quotes", QUOTE_COLUMNS, _quotes(accelerators, QUOTES, rnd)),
        ("market_prices", MARKET_COLUMNS, _market(MARKET)),
        ("simulation_runs", RUN_COLUMNS, _runs(RUNS)),
        ("audit_entries", AUDIT_COLUMNS, _audit(AUDIT)),
    )
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        for table, columns, rows in tables:
            if engine.dialect.name == "postgresql":
                with cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:  # type: ignore[attr-defined]
                    for row in rows:
                        copy.write_row(row)
            else:
                marks = ", ".join("?" for _ in columns)
                statement = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})"  # noqa: S608
                batch: list[tuple[Any, ...]] = []
                for row in rows:
                    batch.append(tuple(_sqlite_value(v) for v in row))
                    if len(batch) == 20_000:
                        cursor.executemany(statement, batch)
                        batch = []
                if batch:
                    cursor.executemany(statement, batch)
        raw.commit()
    finally:
        raw.close()
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(text("VACUUM ANALYZE" if engine.dialect.name == "postgresql" else "ANALYZE"))
    return time.perf_counter() - started


# ---- timing ---------------------------------------------------------------------------------------------


class App:
    """The app in-process on `engine` (its session factory replaced), signed in as an admin by token."""

    def __init__(self, engine: Engine) -> None:
        from fastapi.testclient import TestClient

        from app.db.access import ApiToken, User
        from app.main import app
        from app.services.accounts import TOKEN_PREFIX, digest
        from app.web.deps import get_session

        factory = sessionmaker(engine, expire_on_commit=False)

        def session_override() -> Iterator[Session]:
            with factory() as session:
                try:
                    yield session
                    session.commit()
                except BaseException:
                    session.rollback()
                    raise

        raw = TOKEN_PREFIX + uuid.uuid4().hex
        with factory() as session:
            user = User(
                username=f"bench-{uuid.uuid4().hex[:6]}",
                role="admin",
                is_active=True,
                password_hash="!no-password",
            )
            session.add(user)
            session.flush()
            session.add(
                ApiToken(
                    name="bench",
                    token_hash=digest(raw),
                    prefix=raw[:12],
                    role="admin",
                    user_id=user.id,
                    expires_at=datetime.now(UTC) + timedelta(days=1),
                )
            )
            session.commit()
        app.dependency_overrides[get_session] = session_override
        self.app, self.get_session = app, get_session
        self.client = TestClient(app)
        self.client.headers["Authorization"] = f"Bearer {raw}"
        with factory() as session:
            self.sweep_body = {
                "kind": "serving",
                "model_id": int(session.scalar(text("SELECT min(id) FROM model_configs")) or 1),
                "accelerator_names": list(session.scalars(text("SELECT name FROM accelerators"))),
                "pricing_models": ["on_demand", "spot"],
            }

    def close(self) -> None:
        self.client.close()
        self.app.dependency_overrides.pop(self.get_session, None)

    def request(self, path: str) -> Any:
        if path == SWEEP:
            return self.client.post("/api/v1/estimates/sweep", json=self.sweep_body)
        return self.client.get(path)

    def time(self, path: str) -> tuple[float, float, float]:
        """(first request ms, median of REQUESTS warm requests ms, median warm CPU ms of this process).

        The CPU time (time.process_time: every thread of this process, the app's included) is what a request
        costs the app whatever the machine's load; it leaves out the PostgreSQL server's own work."""
        started = time.perf_counter()
        response = self.request(path)
        first = (time.perf_counter() - started) * 1000
        if response.status_code != 200:
            raise RuntimeError(f"{path}: {response.status_code} {response.text[:300]}")
        warm, cpu = [], []
        for _ in range(REQUESTS):
            started, started_cpu = time.perf_counter(), time.process_time()
            self.request(path)
            warm.append((time.perf_counter() - started) * 1000)
            cpu.append((time.process_time() - started_cpu) * 1000)
        return first, statistics.median(warm), statistics.median(cpu)


def _export_rss(url: str) -> tuple[int, float, int]:
    """(peak RSS KiB, seconds, file bytes) of `pricewar export FILE` in a child process."""
    target = Path(tempfile.mkdtemp(prefix="pricewar-export-")) / "export.json"
    started = time.perf_counter()
    _, rss = _pricewar("export", str(target), url=url)
    seconds = time.perf_counter() - started
    size = target.stat().st_size
    target.unlink()
    return rss, seconds, size


# ---- the run --------------------------------------------------------------------------------------------


def run_backend(backend: str) -> list[str]:
    url, drop = _database(backend)
    lines: list[str] = []
    verdicts: list[bool] = []
    try:
        _pricewar("migrate", url=url)
        _pricewar("seed", url=url)
        from app.db.session import make_engine

        engine = make_engine(url)
        app = App(engine)
        paths = [BASELINE, *PAGES, *API, SWEEP]
        small = {p: app.time(p) for p in paths}
        small_export = _export_rss(url)
        grow_s = grow(engine)
        with Session(engine) as session:
            counts = {
                t: int(session.scalar(text(f"SELECT count(*) FROM {t}")) or 0)  # noqa: S608
                for t in ("price_quotes", "market_prices", "simulation_runs", "audit_entries")
            }
        large = {p: app.time(p) for p in paths}
        large_export = _export_rss(url)
        app.close()
        engine.dispose()
    finally:
        drop()

    lines.append(
        f"\n== {backend}: grown in {grow_s:.1f} s to " + ", ".join(f"{n:,} {t}" for t, n in counts.items())
    )
    lines.append(
        f"{'path':<58} {'small first/warm (cpu) ms':>26} {'large first/warm (cpu) ms':>26} {'growth':>7}  verdict"
    )
    for path in paths:
        (sf, sw, sc), (lf, lw, lc) = small[path], large[path]
        growth = lw / sw if sw else float("inf")
        is_api = path.startswith("/api/")
        is_audit = "audit" in path
        checks = []
        if path == BASELINE:
            lines.append(
                f"{path:<58} {sf:>8.1f} / {sw:>6.1f} ({sc:>5.1f}) {lf:>8.1f} / {lw:>6.1f} ({lc:>5.1f}) "
                f"{growth:>6.1f}×  info"
            )
            continue
        if path == SWEEP:
            checks.append(lw <= TARGETS["sweep"])
        elif is_api:
            checks.append(lw <= (TARGETS["audit"] if is_audit else TARGETS["api"]))
        else:
            checks += [lw <= TARGETS["page_warm"], lf <= TARGETS["page_first"]]
            if is_audit:
                checks.append(lw <= TARGETS["audit"])
        checks.append(growth <= TARGETS["growth"])
        verdicts += checks
        mark = "PASS" if all(checks) else "MISS"
        lines.append(
            f"{path:<58} {sf:>8.1f} / {sw:>6.1f} ({sc:>5.1f}) {lf:>8.1f} / {lw:>6.1f} ({lc:>5.1f}) "
            f"{growth:>6.1f}×  {mark}"
        )
    (s_rss, s_t, s_size), (l_rss, l_t, l_size) = small_export, large_export
    lines.append(
        f"pricewar export: small {s_size / 1e6:.1f} MB in {s_t:.1f} s, peak RSS {s_rss / 1024:.0f} MiB; "
        f"large {l_size / 1e6:.0f} MB in {l_t:.1f} s, peak RSS {l_rss / 1024:.0f} MiB "
        f"(×{l_rss / s_rss:.2f}: {'flat' if l_rss < 1.5 * s_rss else 'GROWS'})"
    )
    verdicts.append(l_rss < 1.5 * s_rss)
    lines.append(f"{backend}: {sum(verdicts)} of {len(verdicts)} checks met")
    return lines


def main() -> int:
    load = os.getloadavg()
    print(
        f"bench_scale: {QUOTES:,} quotes, {MARKET:,} market prices, {RUNS:,} runs, {AUDIT:,} audit entries; "
        f"{REQUESTS} warm requests per path; load average {load[0]:.1f} {load[1]:.1f}"
    )
    missed = False
    for backend in BACKENDS:
        if backend == "postgresql" and not _postgres_available():
            print(f"\n== postgresql: SKIP (not reachable at {POSTGRES_ADMIN_URL})")
            continue
        lines = run_backend(backend)
        print("\n".join(lines), flush=True)
        missed = missed or any(line.endswith("MISS") or "GROWS" in line for line in lines)
    print(f"\nload average at the end {os.getloadavg()[0]:.1f}")
    return 1 if (missed and STRICT) else 0


if __name__ == "__main__":
    raise SystemExit(main())
