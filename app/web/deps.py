"""Request dependencies: one database session and transaction per request."""

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends
from sqlalchemy.orm import Session

from app.db.session import get_sessionmaker


def get_session() -> Iterator[Session]:
    """Commit when the request handler succeeds, roll back when it raises: nothing is half-written."""
    session = get_sessionmaker()()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


# scope="function": commit (or roll back) when the handler returns, BEFORE the response is sent, so a failed
# commit becomes an error answer (409/503) instead of a 2xx for data that was never stored.
SessionDep = Annotated[Session, Depends(get_session, scope="function")]
