"""Heavy requests (simulations, tornado, sweeps, imports) take a slot of the work gate and get the caller's
work budget: `def handler(..., work: HeavyWork)`; `work.work_units` bounds the request's compute.

Anonymous visitors share one slot between them (their addresses can be many), a viewer has one, an editor or
an admin two; when the gate is full the answer is 429 with Retry-After (see app/services/work_limits.py).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends

from app.services import work_limits
from app.services.work_limits import CALLER_CLASSES, CallerClass
from app.web.auth import CurrentUser


def caller_key(principal: CurrentUser) -> tuple[str, CallerClass]:
    if principal is None:
        return "anonymous", CALLER_CLASSES["anonymous"]
    return f"user:{principal.user_id}", CALLER_CLASSES[principal.role]


def heavy_work(principal: CurrentUser) -> Iterator[CallerClass]:
    key, caller = caller_key(principal)
    with work_limits.gate().slot(key, caller.concurrent):
        yield caller


HeavyWork = Annotated[CallerClass, Depends(heavy_work, scope="function")]
