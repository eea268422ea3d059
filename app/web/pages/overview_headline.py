"""The Overview's scenario headline: filled in once the simulator's services exist (see simulations pages)."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from sqlalchemy.orm import Session


def headline(request: Request, session: Session) -> dict[str, Any]:
    return {}
