"""Request dependencies: one database session and transaction per request."""

import json
from collections.abc import AsyncIterator, Callable
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from sqlalchemy.orm import Session

from app.db.session import WRITE_BIND_INFO, get_engine, get_sessionmaker, read_only_bind

READING_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_READS_FIRST: set[Callable[..., Any]] = set()
F = TypeVar("F", bound=Callable[..., Any])


def reads_first(endpoint: F) -> F:
    """Mark a POST handler that reads its inputs, computes for long, and only then writes (or never does):
    its transaction starts as a read (SQLite: no write lock) and `app.db.session.end_transaction`, called
    by the service before the compute, makes the following transaction a writing one.

        @router.post("/preview")
        @reads_first
        def preview(...): ...
    """
    _READS_FIRST.add(endpoint)
    return endpoint


async def get_session(request: Request) -> AsyncIterator[Session]:
    """Commit when the request handler succeeds, roll back when it raises: nothing is half-written.

    Async end to end: making the session does no I/O (a connection is taken on first use, in the handler's
    thread) and commit/rollback/close run in the thread pool, never on the event loop. Reading requests get
    a session whose SQLite transaction does not take the write lock (see read_only_bind)."""
    factory = get_sessionmaker()
    if request.method in READING_METHODS:
        session = factory(bind=read_only_bind(get_engine()))
    elif request.scope.get("endpoint") in _READS_FIRST:
        engine = get_engine()
        session = factory(bind=read_only_bind(engine), info={WRITE_BIND_INFO: engine})
    else:
        session = factory()
    try:
        yield session
    except BaseException:
        await run_in_threadpool(_end, session, False)
        raise
    await run_in_threadpool(_end, session, True)


def _end(session: Session, commit: bool) -> None:
    try:
        if commit:
            session.commit()
        else:
            session.rollback()
    finally:
        session.close()


# scope="function": commit (or roll back) when the handler returns, BEFORE the response is sent, so a failed
# commit becomes an error answer (409/503) instead of a 2xx for data that was never stored.
SessionDep = Annotated[Session, Depends(get_session, scope="function")]


MAX_JSON_DEPTH = 32


def json_depth(document: Any, limit: int = MAX_JSON_DEPTH) -> int:
    """Nesting depth of a parsed JSON document (objects and arrays; the body itself is 1), counted without
    recursion and stopping once past `limit`."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(document, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, dict | list):
            deepest = max(deepest, depth)
            if deepest > limit:
                return deepest
            stack.extend((v, depth + 1) for v in (value.values() if isinstance(value, dict) else value))
    return deepest


async def limit_json_nesting(request: Request) -> None:
    """App-wide: a JSON body nested deeper than MAX_JSON_DEPTH is a 422 before any validation walks it
    (900 nested objects once overflowed the validators' recursion: a 500)."""
    if request.method in READING_METHODS:
        return
    if not request.headers.get("content-type", "").lower().startswith("application/json"):
        return
    body = await request.body()
    if body.count(b"{") + body.count(b"[") <= MAX_JSON_DEPTH:
        return  # cannot be deeper (a fast path for almost every request)
    try:
        document = json.loads(body)
    except (ValueError, RecursionError):
        return  # not JSON: the route's own parsing answers
    if json_depth(document) > MAX_JSON_DEPTH:
        raise RequestValidationError(
            [
                {
                    "loc": ("body",),
                    "msg": f"JSON nested deeper than {MAX_JSON_DEPTH} levels",
                    "type": "value_error.json_nesting",
                }
            ]
        )
