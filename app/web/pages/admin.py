"""Admin pages: users (create, change role, disable/enable, set a password) and API tokens (create, shown
once; revoke). The same services as /api/v1/users and /api/v1/tokens, so the same rules and audit entries."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from app.config import get_settings
from app.db.access import ROLES
from app.services import accounts
from app.services.errors import ServiceError
from app.web.auth import Admin, client_address, require_role
from app.web.deps import SessionDep
from app.web.pages.forms import FormValues, see_other
from app.web.pages.render import render
from app.web.schemas import IdPath

router = APIRouter(prefix="/admin", dependencies=[require_role("admin")])


def _page(
    request: Request,
    session: Session,
    *,
    status_code: int = 200,
    error: str = "",
    new_token: str = "",
    form: dict[str, str] | None = None,
) -> HTMLResponse:
    users = accounts.list_users(session)
    names = {u.id: u.username for u in users}
    context: dict[str, Any] = {
        "users": users,
        "tokens": accounts.list_tokens(session),
        "names": names,
        "roles": ROLES,
        "error": error,
        "new_token": new_token,
        "form": form or {},
        "saved": request.query_params.get("saved", ""),
        "active_nav": "admin",
    }
    return render(request, "admin.html", context, status_code)


@router.get("", response_class=HTMLResponse)
def admin_page(request: Request, session: SessionDep) -> HTMLResponse:
    return _page(request, session)


@router.post("/users", response_class=HTMLResponse)
def create_user(request: Request, session: SessionDep, values: FormValues) -> Response:
    try:
        accounts.create_user(
            session, values.get("username", ""), values.get("password", ""), values.get("role", "viewer")
        )
    except ServiceError as exc:
        form = {k: v for k, v in values.items() if k != "password"}
        return _page(request, session, status_code=422, error=exc.message, form=form)
    return see_other("/admin", saved="user")


@router.post("/users/{user_id}", response_class=HTMLResponse)
def update_user(user_id: IdPath, request: Request, session: SessionDep, values: FormValues) -> Response:
    user = accounts.get_user(session, user_id)
    version = values.get("version", "")
    role = values.get("role") or None
    active = {"true": True, "false": False}.get(values.get("is_active", ""))
    password = values.get("password") or None
    try:
        if not version.isdigit():
            raise ServiceError("the form is missing the row version; reload the page", "version")
        accounts.update_user(session, user, int(version), role=role, is_active=active, password=password)
    except ServiceError as exc:
        status = 409 if exc.field in ("version", "role") and "version" in exc.message else 422
        return _page(request, session, status_code=status, error=f"{user.username}: {exc.message}")
    return see_other("/admin", saved="user")


@router.post("/users/{user_id}/sign-in-limits", response_class=HTMLResponse)
def clear_sign_in_limits(user_id: IdPath, session: SessionDep) -> Response:
    """Lift a user's sign-in back-off from every address (audited)."""
    accounts.clear_sign_in_limits(session, accounts.get_user(session, user_id))
    return see_other("/admin", saved="user")


@router.post("/tokens", response_class=HTMLResponse)
def create_token(request: Request, session: SessionDep, principal: Admin, values: FormValues) -> Response:
    days = values.get("expires_in_days", "90")
    try:
        creator = accounts.get_user(session, principal.user_id)
        new = accounts.create_token(
            session,
            get_settings(),
            creator,
            principal.role,
            values.get("name", ""),
            values.get("role", "viewer"),
            int(days) if days.isdigit() else 0,
            client_address(request),
        )
    except ServiceError as exc:
        return _page(request, session, status_code=422, error=exc.message, form=values)
    # Shown once, in this answer only (no redirect: a GET could not show it again).
    return _page(request, session, status_code=201, new_token=new.raw)


@router.post("/tokens/{token_id}/revoke", response_class=HTMLResponse)
def revoke_token(token_id: IdPath, session: SessionDep) -> Response:
    accounts.revoke_token(session, accounts.get_token(session, token_id))
    return see_other("/admin", saved="token")
