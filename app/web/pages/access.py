"""Sign in, sign out, first-admin setup and the signed-in user's password."""

from __future__ import annotations

from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from app.config import get_settings
from app.services import accounts
from app.services.errors import ServiceError
from app.services.rate_limits import RateLimited
from app.web.auth import (
    SESSION_COOKIE,
    CurrentUser,
    Forbidden,
    NotSignedIn,
    clear_session_cookie,
    client_address,
    require_role,
    safe_next,
    set_session_cookie,
)
from app.web.deps import SessionDep
from app.web.pages.forms import FormValues
from app.web.pages.render import render

router = APIRouter()
PUBLIC = [require_role(None)]


def _login_page(
    request: Request,
    *,
    status_code: int = 200,
    error: str = "",
    username: str = "",
    next_url: str = "/",
    notice: str = "",
) -> HTMLResponse:
    context = {
        "error": error,
        "username": username,
        "next": next_url,
        "notice": notice,
        "anonymous_read": get_settings().anonymous_read,
        "active_nav": "login",
    }
    return render(request, "login.html", context, status_code)


@router.get("/login", response_class=HTMLResponse, dependencies=PUBLIC)
def login_form(request: Request, principal: CurrentUser, session: SessionDep) -> Response:
    next_url = safe_next(request.query_params.get("next"))
    if principal is not None and principal.via == "session":
        return RedirectResponse(next_url, status_code=303)
    if not accounts.user_count(session):
        return RedirectResponse("/setup", status_code=303)
    notices = {
        "password": "Your password was changed: sign in with the new one.",
        "out": "You are signed out.",
    }
    return _login_page(
        request, next_url=next_url, notice=notices.get(request.query_params.get("done", ""), "")
    )


@router.post("/login", response_class=HTMLResponse, dependencies=PUBLIC)
def login(request: Request, session: SessionDep, values: FormValues) -> Response:
    username, password = values.get("username", "")[:200], values.get("password", "")
    next_url = safe_next(values.get("next"))
    settings = get_settings()
    try:
        user = accounts.authenticate(session, settings, username, password, client_address(request))
    except RateLimited as exc:
        page = _login_page(
            request, status_code=429, error=exc.message, username=username, next_url=next_url
        )
        page.headers["Retry-After"] = str(exc.retry_after_seconds)
        return page
    if user is None:
        # Returned, not raised: the failure count and its audit entry must commit.
        return _login_page(
            request,
            status_code=401,
            error="Wrong username or password.",
            username=username,
            next_url=next_url,
        )
    old = request.cookies.get(SESSION_COOKIE)
    if old:
        accounts.end_session(session, old)  # never carry a pre-login session id over (fixation)
    new = accounts.start_session(
        session, settings, user, client_address(request), request.headers.get("user-agent", "")
    )
    response = RedirectResponse(next_url, status_code=303)
    set_session_cookie(response, new.raw_id)
    return response


@router.post("/logout", dependencies=PUBLIC)
def logout(request: Request, session: SessionDep) -> Response:
    raw = request.cookies.get(SESSION_COOKIE)
    if raw:
        accounts.end_session(session, raw)
    response = RedirectResponse("/login?done=out", status_code=303)
    clear_session_cookie(response)
    return response


@router.get("/setup", response_class=HTMLResponse, dependencies=PUBLIC)
def setup_form(request: Request, session: SessionDep) -> Response:
    if accounts.user_count(session):
        return RedirectResponse("/login", status_code=303)
    return render(
        request,
        "setup.html",
        {
            "token": request.query_params.get("token", "")[:200],
            "errors": {},
            "username": "",
            "active_nav": "setup",
        },
    )


@router.post("/setup", response_class=HTMLResponse, dependencies=PUBLIC)
def setup(request: Request, session: SessionDep, values: FormValues) -> Response:
    token, username, password = (
        values.get("token", ""),
        values.get("username", ""),
        values.get("password", ""),
    )
    errors: dict[str, str] = {}
    if password != values.get("password_again", ""):
        errors["password_again"] = "The two passwords differ."
    else:
        try:
            user = accounts.create_first_admin(session, token.strip(), username, password)
        except ServiceError as exc:
            errors[exc.field or "token"] = exc.message
        else:
            new = accounts.start_session(
                session, get_settings(), user, client_address(request), request.headers.get("user-agent", "")
            )
            response = RedirectResponse("/", status_code=303)
            set_session_cookie(response, new.raw_id)
            return response
    return render(
        request,
        "setup.html",
        {"token": token, "errors": errors, "username": username, "active_nav": "setup"},
        422,
    )


@router.get("/account", response_class=HTMLResponse, dependencies=[require_role("viewer")])
def account(request: Request, principal: CurrentUser) -> Response:
    if principal is None or principal.via != "session":
        raise NotSignedIn()
    return render(request, "account.html", {"errors": {}, "active_nav": "account"})


@router.post("/account/password", response_class=HTMLResponse, dependencies=[require_role("viewer")])
def change_password(
    request: Request, principal: CurrentUser, session: SessionDep, values: FormValues
) -> Response:
    if principal is None:
        raise NotSignedIn()
    if principal.via != "session":
        raise Forbidden("a password changes only in a signed-in browser session, never with an API token")
    errors: dict[str, str] = {}
    if values.get("new_password", "") != values.get("new_password_again", ""):
        errors["new_password_again"] = "The two new passwords differ."
    else:
        user = accounts.get_user(session, principal.user_id)
        try:
            accounts.change_own_password(
                session,
                get_settings(),
                user,
                values.get("current_password", ""),
                values.get("new_password", ""),
                client_address(request),
            )
        except RateLimited as exc:
            page = render(request, "account.html", {"errors": {"current_password": exc.message}}, 429)
            page.headers["Retry-After"] = str(exc.retry_after_seconds)
            return page
        except ServiceError as exc:
            errors["current_password" if exc.field == "current_password" else "new_password"] = exc.message
        else:
            response = RedirectResponse(f"/login?done=password&next={quote('/account')}", status_code=303)
            clear_session_cookie(response)
            return response
    return render(request, "account.html", {"errors": errors, "active_nav": "account"}, 422)
