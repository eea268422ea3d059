"""Jinja2 rendering shared by every page: templates, number formats, the plotly.js URL."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from jinja2 import pass_context
from markupsafe import Markup
from starlette.datastructures import URLPath
from starlette.routing import Router

from app.config import TEMPLATES_DIR, get_settings
from app.db.fx import DISPLAY_CURRENCIES
from app.web.currency import current as current_currency
from app.web.formatting import register_filters
from app.web.plotly_asset import PLOTLY_URL

templates = Jinja2Templates(directory=TEMPLATES_DIR)
# Outside development, templates do not change while the app runs: skip the stat() of every template file
# (and of each one it includes) on every render.
templates.env.auto_reload = get_settings().environment == "development"
templates.env.globals["plotly_url"] = PLOTLY_URL
templates.env.globals["display_currency"] = current_currency  # the header's selector and charts.js
templates.env.globals["display_currencies"] = DISPLAY_CURRENCIES
register_filters(templates.env)

_URL_PATHS: dict[tuple[Any, ...], tuple[Router, URLPath]] = {}


@pass_context
def _url_for(context: Any, name: str, /, **path_params: Any) -> str:
    """Starlette's template `url_for`, with the route lookup (a walk over every route, ~0.3 ms per call)
    remembered per router, name and parameters. Root-relative (/static/...): an absolute URL built from the
    request's Host header could be poisoned into a shared cache."""
    request: Request = context["request"]
    router: Router = request.scope.get("router") or request.scope["app"]
    key = (id(router), name, tuple(sorted(path_params.items())))  # routers are not hashable
    known = _URL_PATHS.get(key)
    if known is not None and known[0] is router:
        url_path = known[1]
    else:
        url_path = router.url_path_for(name, **path_params)
        if len(_URL_PATHS) < 256:  # the templates name a handful of static files
            _URL_PATHS[key] = (router, url_path)
    return str(request.scope.get("root_path", "")) + str(url_path)


templates.env.globals["url_for"] = _url_for


def chart_html(chart: Any) -> Markup:
    """The `chart` macro of _partials/chart.html rendered once, for charts kept in a page cache (the figure
    JSON and the escaped data table are most of a page's render time)."""
    return Markup(templates.env.get_template("_partials/chart.html").module.chart(chart))  # type: ignore[attr-defined]


def render(request: Request, template: str, context: dict[str, Any], status_code: int = 200) -> HTMLResponse:
    return templates.TemplateResponse(request, template, context, status_code=status_code)


def render_error(request: Request, status_code: int, message: str) -> HTMLResponse:
    return render(request, "error.html", {"status_code": status_code, "message": message}, status_code)
