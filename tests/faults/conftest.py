"""Helpers for the fault tests: a TCP proxy that can "stop the database", and the app pointed at a real,
committed database (not the rolled-back session of the shared `client` fixture)."""

from __future__ import annotations

import os
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import pytest


class TcpProxy:
    """Forwards 127.0.0.1:<port> to a target; stop() refuses new connections and cuts the open ones,
    start() listens again on the same port (as a database server restart looks to the app)."""

    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self.port = 0
        self._listener: socket.socket | None = None
        self._sockets: set[socket.socket] = set()
        self._lock = threading.Lock()

    def start(self) -> None:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        self.port = listener.getsockname()[1]
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def stop(self) -> None:
        """Close the listener (new connections are refused) and cut every open connection."""
        listener, self._listener = self._listener, None
        if listener is not None:
            try:
                listener.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            listener.close()
        with self._lock:
            sockets, self._sockets = self._sockets, set()
        for sock in sockets:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            sock.close()

    @property
    def open_connections(self) -> int:
        with self._lock:
            return len(self._sockets) // 2

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return  # listener closed
            try:
                upstream = socket.create_connection(self.target, timeout=5)
                upstream.settimeout(None)
            except OSError:
                client.close()
                continue
            with self._lock:
                self._sockets |= {client, upstream}
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(source, sink), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (source, sink):
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
            with self._lock:
                self._sockets -= {source, sink}


def auth_headers(url: str, role: str = "admin") -> dict[str, str]:
    """A bearer token for a new user of `role`, committed in the database at `url` (empty headers when the
    app has no accounts)."""
    try:
        from tests.conftest import add_user, bearer_token
    except ImportError:
        return {}
    import uuid

    from sqlalchemy.orm import Session

    from app.db.session import make_engine

    engine = make_engine(url)
    try:
        with Session(engine) as session:
            user = add_user(session, f"fault-{role}-{uuid.uuid4().hex[:8]}", role)
            token = bearer_token(session, user)
            session.commit()
    finally:
        engine.dispose()
    return {"Authorization": f"Bearer {token}"}


@contextmanager
def app_on_database(url: str, **client_kwargs: object) -> Iterator[object]:
    """A TestClient of the real app whose engine, sessions and /readyz all use `url` (real commits)."""
    from fastapi.testclient import TestClient

    from app.main import app

    headers = auth_headers(url)
    with database_url(url):
        with TestClient(app, **client_kwargs) as client:  # type: ignore[arg-type]
            client.headers.update(headers)
            yield client


@contextmanager
def database_url(url: str) -> Iterator[None]:
    """Point the app's settings, engine and session factory at `url` for the duration."""
    from app.config import get_settings
    from app.db.session import get_engine, get_sessionmaker

    def clear() -> None:
        if get_engine.cache_info().currsize:
            get_engine().dispose()
        get_sessionmaker.cache_clear()
        get_engine.cache_clear()
        get_settings.cache_clear()

    saved = os.environ.get("DATABASE_URL")
    clear()
    os.environ["DATABASE_URL"] = url
    try:
        yield
    finally:
        clear()
        if saved is None:
            os.environ.pop("DATABASE_URL", None)
        else:
            os.environ["DATABASE_URL"] = saved


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A fresh, migrated and seeded PostgreSQL database, dropped afterwards."""
    from tests.conftest import create_postgres_database, migrate_and_seed

    url, drop = create_postgres_database()
    try:
        migrate_and_seed(url).dispose()
        yield url
    finally:
        drop()
