"""The event loop never blocks: no `async def` route handler or dependency takes a database session.

Found in an attack: `async def` handlers (login, setup, /account/password, /admin/*, /explorer/*, /hardware/*,
the quote CSV import) and the `get_principal` dependency every request runs did blocking database work on the
event loop; with SQLite's write lock, one of them waiting out the busy timeout froze every request for 15 s.
"""

from __future__ import annotations

import ast
import inspect
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from fastapi.dependencies.models import Dependant
from sqlalchemy.orm import Session

import app.web
from app.web.deps import get_session

WEB_ROOT = Path(app.web.__file__).parent
# The one async dependency allowed near the database: it only creates the session (no I/O) and commits or
# rolls back in the thread pool (end to end non-blocking).
ALLOWED = {get_session}


def _routes() -> Iterator[Any]:
    from app.main import app as application

    for route in application.routes:
        if hasattr(route, "effective_route_contexts"):
            yield from route.effective_route_contexts()
        elif hasattr(route, "dependant"):
            yield route


def _is_async(call: Callable[..., Any]) -> bool:
    target = call if inspect.isfunction(call) or inspect.ismethod(call) else type(call).__call__
    return inspect.iscoroutinefunction(target) or inspect.isasyncgenfunction(target)


def _takes_session(dependant: Dependant) -> bool:
    if any(sub.call in ALLOWED for sub in dependant.dependencies):
        return True
    call = dependant.call
    if call is None:
        return False
    try:
        hints = inspect.signature(call).parameters.values()
    except (TypeError, ValueError):
        return False
    return any(p.annotation is Session or "Session" in str(p.annotation) for p in hints)


def _walk(dependant: Dependant, where: str) -> Iterator[str]:
    call = dependant.call
    if call is not None and call not in ALLOWED and _is_async(call) and _takes_session(dependant):
        yield f"{where}: {getattr(call, '__qualname__', call)!r} is async and takes a database session"
    for sub in dependant.dependencies:
        yield from _walk(sub, where)


def test_no_async_route_or_dependency_takes_a_session() -> None:
    offenders: list[str] = []
    routes = list(_routes())
    assert len(routes) > 50  # the walk reached the nested routers
    for route in routes:
        offenders.extend(_walk(route.dependant, f"{sorted(route.methods or [])} {route.path}"))
    assert not offenders, "\n".join(sorted(set(offenders)))


def test_get_principal_is_not_async() -> None:
    from app.web.auth import get_principal

    assert not _is_async(get_principal)


DB_NAMES = {"session", "SessionDep", "session_scope", "get_sessionmaker", "get_engine"}


def test_no_async_function_in_app_web_touches_the_database() -> None:
    """Source check too: an async helper that opens a session itself would escape the dependency walk."""
    offenders = []
    for path in sorted(WEB_ROOT.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if not isinstance(node, ast.AsyncFunctionDef) or node.name == "get_session":
                continue
            names = {n.id for n in ast.walk(node) if isinstance(n, ast.Name)}
            names |= {n.arg for n in ast.walk(node) if isinstance(n, ast.arg)}
            used = names & DB_NAMES
            if used:
                offenders.append(
                    f"{path.relative_to(WEB_ROOT)}:{node.lineno} {node.name} uses {sorted(used)}"
                )
    assert not offenders, "\n".join(offenders)


def test_walker_catches_an_async_handler_with_a_session() -> None:
    """The walk itself can fail: an async handler taking SessionDep is reported."""
    from fastapi import APIRouter

    from app.web.deps import SessionDep

    router = APIRouter()

    @router.post("/probe")
    async def probe(session: SessionDep) -> None:  # pragma: no cover - never called
        return None

    route = router.routes[0]
    assert list(_walk(route.dependant, "probe"))  # type: ignore[attr-defined]


def test_reading_and_reads_first_requests_get_a_deferred_session(monkeypatch) -> None:
    """GETs and the compute POSTs marked @reads_first start a reading transaction (SQLite: no write lock);
    other POSTs a writing one."""
    from fastapi.testclient import TestClient

    import app.web.deps as deps
    from app.main import app as application

    seen: list[str] = []
    real = deps.read_only_bind

    def spy(engine):  # type: ignore[no-untyped-def]
        seen.append("read")
        return real(engine)

    monkeypatch.setattr(deps, "read_only_bind", spy)
    with TestClient(application, raise_server_exceptions=False) as http:
        http.get("/api/v1/accelerators/1")
        assert seen == ["read"]
        http.post("/api/v1/simulations/preview", json={"inputs": {}, "paths_count": 10})
        assert seen == ["read", "read"]
        http.post("/api/v1/accelerators", json={})  # an ordinary write (refused, but its session is made)
        assert seen == ["read", "read"]
