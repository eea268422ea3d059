"""Request dependencies: one database session and transaction per request."""

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends
from fastapi.concurrency import run_in_threadpool
from sqlalchemy.orm import Session

from app.db.session import get_sessionmaker


async def get_session() -> AsyncIterator[Session]:
    """Commit when the request handler succeeds, roll back when it raises: nothing is half-written.

    Async, so the request pays one thread-pool hop (commit/rollback and close, which do I/O) instead of two:
    making the session does no I/O (a connection is taken on first use, in the handler's thread)."""
    session = get_sessionmaker()()
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
