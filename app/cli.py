"""The `pricewar` command: serve, migrate, seed, export, import, create-admin."""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import sys
from collections.abc import Sequence
from pathlib import Path

from app.config import get_settings
from app.db.migrate import alembic_config as _alembic_config  # noqa: F401 - tests run Alembic through it


def migrate(revision: str = "head") -> None:
    """Bring the database schema to `revision` (default: the newest), under the migration lock."""
    from app.db.migrate import upgrade
    from app.db.session import get_engine

    upgrade(get_engine(), revision)


def seed() -> str:
    """Load the shipped reference data; rows already present are left alone."""
    from app.db.session import session_scope
    from app.services.reference_data import seed_reference_data

    with session_scope() as session:
        return seed_reference_data(session).summary()


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from app.observability.logs import logging_config

    # Before anything imports prometheus_client: the workers share their samples through this folder.
    metrics_dir = _metrics_dir()
    if not args.no_setup:
        migrate()
        print(seed())
    settings = get_settings()
    host, port = args.host or settings.host, args.port or settings.port
    print(f"Price War Room on http://{host}:{port}  (API docs: http://{host}:{port}/docs)")
    with contextlib.ExitStack() as stack:
        if settings.embedded_worker:  # one job worker in this process (PRICEWAR_EMBEDDED_WORKER=false: none)
            from app.services.jobs import serve_embedded

            stack.enter_context(serve_embedded())
            print("background jobs: embedded worker on (PRICEWAR_EMBEDDED_WORKER=false turns it off)")
        try:
            uvicorn.run(
                "app.main:app",
                host=host,
                port=port,
                workers=args.workers,
                # Forwarded headers only from the proxies the operator names (default: none, so a client
                # cannot forge its address for the sign-in limits and the audit log).
                proxy_headers=bool(settings.forwarded_allow_ips.strip()),
                forwarded_allow_ips=settings.forwarded_allow_ips.strip() or None,
                server_header=False,  # no "server: uvicorn" banner
                log_config=logging_config(settings.log_format, settings.log_level),
                log_level=settings.log_level,
                access_log=False,  # the app's own access log has the request id (app/web/request_context.py)
                # A new worker must answer the supervisor's first ping within this time, and it cannot before
                # Python has started and imported this command's module (spawn): on a busy 2-core machine
                # that took over uvicorn's default 5 s, and every worker was killed and restarted forever.
                timeout_worker_healthcheck=60,
            )
        finally:
            if metrics_dir is not None:
                shutil.rmtree(metrics_dir, ignore_errors=True)
    return 0


def _metrics_dir() -> str | None:
    """PROMETHEUS_MULTIPROC_DIR for this server's workers: the operator's if set (emptied), else a fresh temp
    folder removed at exit (returned, to remove)."""
    import tempfile

    # Not imported from app.observability.metrics: prometheus_client picks its storage when first imported,
    # which must happen after the variable is set.
    given = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    folder = given or tempfile.mkdtemp(prefix="pricewar-metrics-")
    os.makedirs(folder, exist_ok=True)
    for name in os.listdir(folder):
        if name.endswith(".db"):
            os.remove(os.path.join(folder, name))
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = folder
    return None if given else folder


def cmd_worker(args: argparse.Namespace) -> int:
    """Run background jobs from the queue until stopped (any number of these, on any machine)."""
    import logging

    from app.services.jobs import run_worker

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    print(f"pricewar worker: {args.concurrency} thread(s) on the job queue; Ctrl-C finishes the current task")
    run_worker(args.concurrency)
    return 0


def cmd_migrate(args: argparse.Namespace) -> int:
    migrate(args.revision)
    return 0


def cmd_seed(_args: argparse.Namespace) -> int:
    print(seed())
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from app.db.session import session_scope
    from app.services.transfer import write_export

    # Streamed a row at a time (the audit log included): memory stays flat however large the tables.
    with session_scope() as session:
        if args.output == "-":
            write_export(session, sys.stdout)
        else:
            with Path(args.output).open("w", encoding="utf-8") as out:
                counts = write_export(session, out)
            print(f"exported {sum(counts.values())} rows to {args.output}")
    return 0


def cmd_import(args: argparse.Namespace) -> int:
    import ijson

    from app.db.session import session_scope
    from app.services.errors import ServiceError
    from app.services.transfer import import_document, import_file

    try:
        with session_scope() as session:
            if args.input == "-":
                counts = import_document(session, json.loads(sys.stdin.read()))
            else:  # streamed from the file, a row at a time (all or nothing: one transaction)
                counts = import_file(session, args.input)
    except (ServiceError, json.JSONDecodeError, ijson.JSONError) as exc:
        print(f"import refused, nothing written: {exc}", file=sys.stderr)
        return 2
    print("imported " + ", ".join(f"{n} {table}" for table, n in counts.items()))
    return 0


def cmd_import_prices(args: argparse.Namespace) -> int:
    """Import a published price file (LiteLLM's price table, a SkyPilot vms.csv): for cron."""
    from datetime import date

    from app.db.session import session_scope
    from app.services import litellm_import, skypilot_import
    from app.services.errors import ServiceError

    raw = sys.stdin.read() if args.file == "-" else Path(args.file).read_text(encoding="utf-8-sig")
    effective_from = date.fromisoformat(args.effective_from) if args.effective_from else date.today()
    try:
        with session_scope() as session:
            if args.source == "litellm":
                report: object = litellm_import.import_prices(
                    session, json.loads(raw), effective_from, dry_run=args.dry_run
                )
            else:
                if not args.provider:
                    print("a SkyPilot catalog needs --provider (e.g. aws)", file=sys.stderr)
                    return 2
                report = skypilot_import.import_catalog(
                    session, raw, args.provider, effective_from, dry_run=args.dry_run
                )
    except (ServiceError, json.JSONDecodeError) as exc:
        refused = getattr(exc, "report", None)
        if refused is not None:
            print(json.dumps(refused.model_dump(mode="json"), indent=2))
        print(f"import refused, nothing written: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(report.model_dump(mode="json"), indent=2))  # type: ignore[attr-defined]
    return 0


def cmd_create_admin(args: argparse.Namespace) -> int:
    """Create an admin (the first one, or another): the password is prompted for or read from stdin."""
    import getpass

    from app.db.session import session_scope
    from app.services import accounts, audit
    from app.services.errors import ServiceError

    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = getpass.getpass(f"Password for {args.username}: ")
        if getpass.getpass("Again: ") != password:
            print("the two passwords differ; nothing created", file=sys.stderr)
            return 2
    try:
        with session_scope() as session:
            audit.set_actor(session, "cli")
            user = accounts.create_user(session, args.username, password, args.role)
    except ServiceError as exc:
        print(f"not created: {exc.message}", file=sys.stderr)
        return 2
    print(f"created {user.role} '{user.username}'; sign in at /login")
    return 0


def cmd_wait_db(args: argparse.Namespace) -> int:
    """Wait until the database answers (a container may start before its database)."""
    import time

    from sqlalchemy import text

    from app.db.session import get_engine

    deadline = time.monotonic() + args.timeout_s
    while True:
        try:
            with get_engine().connect() as connection:
                connection.execute(text("SELECT 1"))
            return 0
        except Exception as exc:  # noqa: BLE001 - any failure means "not yet"
            if time.monotonic() > deadline:
                print(f"database not reachable after {args.timeout_s} s: {exc}", file=sys.stderr)
                return 1
            time.sleep(1)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="pricewar", description="Price War Room: AI training/serving cost and price-war survival."
    )
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="migrate, seed if needed, and serve the dashboard")
    serve.add_argument("--host", help="bind address (default PRICEWAR_HOST or 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port (default PRICEWAR_PORT or 8000)")
    serve.add_argument("--workers", type=int, default=1, help="uvicorn worker processes")
    serve.add_argument("--no-setup", action="store_true", help="skip migrate and seed")
    serve.set_defaults(handler=cmd_serve)

    mig = commands.add_parser("migrate", help="apply database migrations (alembic upgrade)")
    mig.add_argument("revision", nargs="?", default="head", help="target revision (default head)")
    mig.set_defaults(handler=cmd_migrate)

    seed_cmd = commands.add_parser("seed", help="load the shipped reference data (idempotent)")
    seed_cmd.set_defaults(handler=cmd_seed)

    export = commands.add_parser("export", help="write the whole database as versioned JSON")
    export.add_argument("output", nargs="?", default="-", help="file path, or - for stdout")
    export.set_defaults(handler=cmd_export)

    imp = commands.add_parser("import", help="load an export into an empty database (all or nothing)")
    imp.add_argument("input", nargs="?", default="-", help="file path, or - for stdin")
    imp.set_defaults(handler=cmd_import)

    prices = commands.add_parser(
        "import-prices", help="import a published price file: LiteLLM's price table or a SkyPilot vms.csv"
    )
    prices.add_argument("--source", choices=("litellm", "skypilot"), required=True)
    prices.add_argument("file", help="the file ('-' reads standard input)")
    prices.add_argument("--provider", help="SkyPilot: the cloud the catalog is for (aws, gcp, azure, …)")
    prices.add_argument("--effective-from", help="YYYY-MM-DD the prices start (default today)")
    prices.add_argument("--dry-run", action="store_true", help="report the diff, write nothing")
    prices.set_defaults(handler=cmd_import_prices)

    admin = commands.add_parser("create-admin", help="create an admin user (no default password exists)")
    admin.add_argument("username")
    admin.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    admin.add_argument("--role", default="admin", choices=("viewer", "editor", "admin"), help="default admin")
    admin.set_defaults(handler=cmd_create_admin)

    worker = commands.add_parser("worker", help="run background jobs (simulations, tornados, sweeps)")
    worker.add_argument(
        "--concurrency", type=int, default=1, help="tasks at once in this process (default 1; add processes)"
    )
    worker.set_defaults(handler=cmd_worker)

    wait = commands.add_parser("wait-db", help="wait until the database answers")
    wait.add_argument("--timeout-s", type=float, default=60, help="give up after this many seconds")
    wait.set_defaults(handler=cmd_wait_db)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.handler(args))


if __name__ == "__main__":
    raise SystemExit(main())
