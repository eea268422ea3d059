"""Who is asking, and may they: sessions and API tokens, roles, CSRF and security headers.

Use in routes and routers:

    from app.web.auth import CurrentUser, require_role
    router = APIRouter(dependencies=[require_role("editor")])          # every route of the router
    @router.post("/preview", dependencies=[require_role("viewer")])      # a POST that stores nothing
    def handler(user: CurrentUser): ...                                  # Principal | None (anonymous)

Every route is also guarded by `enforce_access` (installed app-wide): a route without an explicit
`require_role` needs "viewer" for GET/HEAD and "editor" for any other method, so a forgotten check fails
closed. `require_role(None)` marks a public route (sign-in, setup).

Roles: viewer < editor < admin. Anonymous requests act as viewers when Settings.anonymous_read is on.
"""

from __future__ import annotations

import hmac
import secrets
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import quote, urlsplit

from fastapi import Depends, FastAPI, Request
from fastapi.params import Depends as DependsParam
from fastapi.responses import JSONResponse, RedirectResponse, Response
from itsdangerous import BadSignature, Signer
from jinja2 import pass_context
from markupsafe import Markup
from sqlalchemy.orm import Session
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.config import Settings, get_settings
from app.services import accounts, audit
from app.services.rate_limits import RateLimited
from app.services.work_limits import Busy
from app.web.deps import SessionDep, limit_json_nesting

SESSION_COOKIE = "pricewar_session"
CSRF_COOKIE = "pricewar_csrf"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
# Reachable without signing in even when anonymous reading is off: probes and static assets. (/docs and
# /openapi.json follow the anonymous-read setting like every other read.)
PUBLIC_PATHS = frozenset({"/healthz", "/readyz"})
PUBLIC_PREFIXES = ("/assets/",)

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; "
    "frame-ancestors 'none'; base-uri 'self'; form-action 'self'; object-src 'none'"
)


@dataclass(frozen=True)
class Principal:
    """A signed-in user (by session cookie) or a caller with an API token (role = the lower of both)."""

    user_id: int
    username: str
    role: str
    via: str  # "session" | "token"
    csrf_token: str = ""
    token_id: int | None = None  # the API token that acted (via == "token")
    token_name: str = ""

    def has(self, role: str) -> bool:
        return accounts.ROLE_RANK[self.role] >= accounts.ROLE_RANK[role]


class NotSignedIn(Exception):
    def __init__(self, message: str = "sign in, or send Authorization: Bearer <token>") -> None:
        super().__init__(message)
        self.message = message


class Forbidden(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class CsrfFailed(Forbidden):
    pass


_UNRESOLVED = object()
# The current request's ASGI scope, for Jinja globals called where the template context has no `request`
# (macros imported without context). Set by SecurityHeadersMiddleware for each request.
_CURRENT_SCOPE: ContextVar[Scope | None] = ContextVar("pricewar_current_scope", default=None)


def _request_of(context: Any) -> Request | None:
    request = context.get("request") if hasattr(context, "get") else None
    if isinstance(request, Request):
        return request
    scope = _CURRENT_SCOPE.get()
    return Request(scope) if scope is not None else None


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


# ---- who is asking ---------------------------------------------------------------------------------------


def get_principal(request: Request, session: SessionDep) -> Principal | None:
    """Resolve the caller once per request: a Bearer token, else the session cookie, else anonymous.

    A plain `def` (run in the thread pool): a token or a session cookie is looked up in the database, and
    nothing that can wait on the database may run on the event loop."""
    cached = getattr(request.state, "principal", _UNRESOLVED)
    if cached is None or isinstance(cached, Principal):
        return cached
    if request.url.path in ("/healthz", "/readyz"):
        return None  # probes never touch the database through a token: liveness must hold while it is down
    return _resolve_principal(request, session)


def _resolve_principal(request: Request, session: Session) -> Principal | None:
    settings = get_settings()
    principal: Principal | None = None
    authorization = request.headers.get("authorization", "")
    scheme, _, credential = authorization.partition(" ")
    if scheme.lower() == "bearer":
        token = accounts.resolve_token(session, credential.strip())
        if token is None:
            raise NotSignedIn("the API token is unknown, expired or revoked")
        principal = Principal(
            token.user_id,
            token.user.username,
            accounts.lower_role(token.role, token.user.role),
            "token",
            token_id=token.id,
            token_name=token.name,
        )
    elif SESSION_COOKIE in request.cookies:
        row = accounts.resolve_session(session, settings, request.cookies[SESSION_COOKIE])
        if row is not None:
            principal = Principal(row.user_id, row.user.username, row.user.role, "session", row.csrf_token)
        else:
            request.state.clear_session_cookie = True
    request.state.principal = principal
    if principal is None:
        audit.set_actor(session, "anonymous")
    else:
        # the actor names the token that acted: which one to revoke is in the log
        suffix = ""
        if principal.via == "token":
            suffix = f" (API token #{principal.token_id} '{principal.token_name}')"
        audit.set_actor(session, (principal.username + suffix)[:120], principal.user_id)
    return principal


CurrentUser = Annotated[Principal | None, Depends(get_principal)]


class RoleCheck:
    """Dependency: the caller needs at least `role` (None: anyone, signed in or not)."""

    def __init__(self, role: str | None) -> None:
        if role is not None and role not in accounts.ROLE_RANK:
            raise ValueError(f"unknown role {role!r}")
        self.role = role

    async def __call__(self, principal: CurrentUser) -> Principal | None:
        # async: a pure check, so it runs on the event loop (a sync dependency costs a thread-pool hop)
        check_role(principal, self.role)
        return principal

    def __repr__(self) -> str:
        return f"require_role({self.role!r})"


def check_role(principal: Principal | None, role: str | None) -> None:
    if role is None:
        return
    if principal is None:
        if role == "viewer" and get_settings().anonymous_read:
            return
        raise NotSignedIn()
    if not principal.has(role):
        raise Forbidden(f"this needs the {role} role; you are {principal.role}")


_ROLE_CHECKS = {role: RoleCheck(role) for role in (None, *accounts.ROLE_RANK)}


def require_role(role: str | None) -> Any:
    """`Depends(...)` for routes and routers: `dependencies=[require_role("editor")]`."""
    return Depends(_ROLE_CHECKS[role])


def role_dependency(role: str | None) -> RoleCheck:
    """The bare callable, for `Annotated[Principal | None, Depends(role_dependency("admin"))]`."""
    return _ROLE_CHECKS[role]


Viewer = Annotated[Principal | None, Depends(_ROLE_CHECKS["viewer"])]
Editor = Annotated[Principal, Depends(_ROLE_CHECKS["editor"])]
Admin = Annotated[Principal, Depends(_ROLE_CHECKS["admin"])]


def _explicit_role(request: Request) -> bool:
    """Does the matched route (with its routers' dependencies) declare a RoleCheck itself?

    FastAPI ≥ 0.16x keeps included routers nested and puts the route with its merged dependencies in
    scope["fastapi"]["effective_route_context"]; older versions put the merged APIRoute in scope["route"]."""
    fastapi_scope = request.scope.get("fastapi")
    candidates = [
        fastapi_scope.get("effective_route_context") if isinstance(fastapi_scope, dict) else None,
        request.scope.get("route"),
    ]
    for route in candidates:
        if route is None:
            continue
        for dependency in getattr(route, "dependencies", None) or ():
            if isinstance(dependency, DependsParam) and isinstance(dependency.dependency, RoleCheck):
                return True
        dependant = getattr(route, "dependant", None)
        stack = list(getattr(dependant, "dependencies", None) or ())
        while stack:
            sub = stack.pop()
            if isinstance(sub.call, RoleCheck):
                return True
            stack.extend(sub.dependencies)
    return False


async def enforce_access(request: Request, principal: CurrentUser) -> None:
    """App-wide fail-safe: routes without an explicit role need viewer to read and editor to write.
    (async: no I/O, so no thread-pool hop)"""
    path = request.url.path
    if path in PUBLIC_PATHS or path.startswith(PUBLIC_PREFIXES) or _explicit_role(request):
        return
    check_role(principal, "viewer" if request.method in SAFE_METHODS else "editor")


# ---- CSRF ------------------------------------------------------------------------------------------------


def _signer(settings: Settings) -> Signer:
    return Signer(settings.secret_key, salt="pricewar-csrf")


def _anonymous_csrf_cookie(request: Request) -> str:
    """The anonymous CSRF cookie: a signed random value (reused from the request, else new)."""
    settings = get_settings()
    current = request.cookies.get(CSRF_COOKIE, "")
    if current and _valid_signed(settings, current):
        return current
    fresh = getattr(request.state, "new_csrf_cookie", None)
    if fresh is None:
        fresh = _signer(settings).sign(secrets.token_urlsafe(24)).decode()
        request.state.new_csrf_cookie = fresh
    return str(fresh)


def _form_token_for_cookie(settings: Settings, cookie: str) -> str:
    """The anonymous forms' token: a keyed MAC of the cookie's signed random value, never the cookie itself,
    so a form token is bound to the one cookie it was made for and cannot be read off the cookie."""
    return Signer(settings.secret_key, salt="pricewar-csrf-form").get_signature(cookie).decode()


def _anonymous_csrf_value(request: Request) -> str:
    return _form_token_for_cookie(get_settings(), _anonymous_csrf_cookie(request))


def _valid_signed(settings: Settings, value: str) -> bool:
    try:
        _signer(settings).unsign(value)
        return True
    except BadSignature:
        return False


def csrf_token_for(request: Request) -> str:
    principal = getattr(request.state, "principal", None)
    if isinstance(principal, Principal) and principal.via == "session":
        return principal.csrf_token
    return _anonymous_csrf_value(request)


@pass_context
def csrf_input(context: dict[str, Any]) -> Markup:
    """Jinja global: `{{ csrf_input() }}` inside every <form method="post">."""
    request = _request_of(context)
    if request is None:
        return Markup("")
    token = csrf_token_for(request)
    return Markup('<input type="hidden" name="{}" value="{}">').format(CSRF_FIELD, token)


@pass_context
def current_user(context: dict[str, Any]) -> Principal | None:
    """Jinja global: the signed-in user (or None) for the header and role-dependent buttons."""
    request = _request_of(context)
    principal = getattr(request.state, "principal", None) if request is not None else None
    return principal if isinstance(principal, Principal) else None


def _same_origin(request: Request) -> bool:
    site = request.headers.get("sec-fetch-site")
    if site is not None:
        return site in ("same-origin", "none")
    origin = request.headers.get("origin")
    if origin is None or origin == "null":
        return origin is None
    parts = urlsplit(origin)
    return parts.netloc.lower() == request.headers.get("host", "").lower()


async def csrf_protect(request: Request, principal: CurrentUser) -> None:
    """Unsafe methods from a browser must come from our own pages and carry the form's token.

    Exempt: requests with `Authorization: Bearer` (a browser never adds it by itself) and script calls with no
    cookie and no form body (nothing ambient to abuse)."""
    if request.method in SAFE_METHODS:
        return
    if request.headers.get("authorization", "").lower().startswith("bearer "):
        return
    if not _same_origin(request):
        raise CsrfFailed("cross-site request refused")
    content_type = request.headers.get("content-type", "").lower()
    is_form = content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data"))
    if not is_form and SESSION_COOKIE not in request.cookies:
        return
    sent = request.headers.get(CSRF_HEADER, "")
    if not sent and is_form:
        form = await request.form()
        value = form.get(CSRF_FIELD)
        sent = value if isinstance(value, str) else ""
    if isinstance(principal, Principal) and principal.via == "session":
        expected = principal.csrf_token
    else:
        cookie = request.cookies.get(CSRF_COOKIE, "")
        settings = get_settings()
        valid = bool(cookie) and _valid_signed(settings, cookie)
        expected = _form_token_for_cookie(settings, cookie) if valid else ""
    if not sent or not expected or not hmac.compare_digest(sent.encode(), expected.encode()):
        raise CsrfFailed("the form's security token is missing or stale; reload the page and try again")


# ---- cookies ---------------------------------------------------------------------------------------------


def set_session_cookie(response: Response, raw_id: str) -> None:
    settings = get_settings()
    response.set_cookie(
        SESSION_COOKIE,
        raw_id,
        max_age=settings.session_absolute_timeout_hours * 3600,
        httponly=True,
        samesite="lax",
        secure=settings.cookie_secure,
        path="/",
    )


def clear_session_cookie(response: Response) -> None:
    response.delete_cookie(
        SESSION_COOKIE, path="/", httponly=True, samesite="lax", secure=get_settings().cookie_secure
    )


# ---- headers middleware ----------------------------------------------------------------------------------


def _carries_credentials(scope: Scope) -> bool:
    for name, value in scope.get("headers", ()):
        if name == b"authorization" or (name == b"cookie" and SESSION_COOKIE.encode() in value):
            return True
    return False


class SecurityHeadersMiddleware:
    """Adds CSP, nosniff, Referrer-Policy, X-Frame-Options (and HSTS over TLS) to every answer, and the
    anonymous CSRF cookie when a form was rendered for a visitor without one."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        settings = get_settings()
        scope.setdefault("state", {})
        _CURRENT_SCOPE.set(scope)

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                extra = {
                    b"content-security-policy": CSP.encode(),
                    b"x-content-type-options": b"nosniff",
                    b"referrer-policy": b"same-origin",
                    b"x-frame-options": b"DENY",
                }
                if settings.cookie_secure:
                    extra[b"strict-transport-security"] = b"max-age=31536000"
                if _carries_credentials(scope):  # a signed-in answer must not land in a shared cache
                    extra[b"cache-control"] = b"no-store"
                headers.extend((k, v) for k, v in extra.items() if k not in present)
                state = scope.get("state", {})
                cookie = state.get("new_csrf_cookie")
                if cookie:
                    secure = "; Secure" if settings.cookie_secure else ""
                    headers.append(
                        (
                            b"set-cookie",
                            f"{CSRF_COOKIE}={cookie}; Path=/; HttpOnly; SameSite=Lax{secure}".encode(),
                        )
                    )
                if state.get("clear_session_cookie") and not any(
                    k.lower() == b"set-cookie" and v.startswith(SESSION_COOKIE.encode()) for k, v in headers
                ):
                    headers.append(
                        (
                            b"set-cookie",
                            f"{SESSION_COOKIE}=; Path=/; Max-Age=0; HttpOnly; SameSite=Lax".encode(),
                        )
                    )
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)


# ---- errors ----------------------------------------------------------------------------------------------


def _wants_html(request: Request) -> bool:
    return not request.url.path.startswith("/api/") and "text/html" in request.headers.get("accept", "")


def safe_next(target: str | None) -> str:
    """Only local paths: never redirect to another site after sign-in."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


async def _not_signed_in(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, NotSignedIn)
    if _wants_html(request):
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/login?next={quote(safe_next(target))}", status_code=303)
    return JSONResponse({"detail": exc.message}, status_code=401, headers={"WWW-Authenticate": "Bearer"})


async def _forbidden(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, Forbidden)
    if _wants_html(request):
        from app.web.pages.render import render_error

        return render_error(request, 403, exc.message)
    return JSONResponse({"detail": exc.message}, status_code=403)


async def _rate_limited(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RateLimited | Busy)
    headers = {"Retry-After": str(exc.retry_after_seconds)}
    if _wants_html(request):
        from app.web.pages.render import render_error

        response = render_error(request, 429, exc.message)
        response.headers.update(headers)
        return response
    return JSONResponse({"detail": exc.message}, status_code=429, headers=headers)


def install_access(app: FastAPI) -> None:
    """Error handlers, the headers middleware and the Jinja globals (the dependencies go in FastAPI(...))."""
    from app.web.pages.render import templates

    app.add_exception_handler(NotSignedIn, _not_signed_in)
    app.add_exception_handler(Forbidden, _forbidden)
    app.add_exception_handler(RateLimited, _rate_limited)
    app.add_exception_handler(Busy, _rate_limited)
    app.add_middleware(SecurityHeadersMiddleware)
    templates.env.globals["csrf_input"] = csrf_input
    templates.env.globals["current_user"] = current_user


APP_DEPENDENCIES: list[Any] = [Depends(enforce_access), Depends(csrf_protect), Depends(limit_json_nesting)]


def announce_setup_token() -> None:
    """At start with no users: log a one-time setup token (each process its own; any one works once)."""
    import logging

    from sqlalchemy.exc import SQLAlchemyError

    from app.db.session import session_scope

    settings = get_settings()
    if settings.environment == "test":
        return
    log = logging.getLogger("uvicorn.error")
    try:
        with session_scope() as session:
            raw = accounts.issue_setup_token(session, settings)
    except SQLAlchemyError as exc:  # not migrated yet, or the database is down: nothing to announce
        log.warning("could not check for users at start: %s", type(exc).__name__)
        return
    if raw is not None:
        log.warning(
            "No users yet. Create the first admin at http://%s:%s/setup?token=%s (one-time, valid %d h), "
            "or run `pricewar create-admin USERNAME`.",
            settings.host,
            settings.port,
            raw,
            settings.setup_token_hours,
        )
