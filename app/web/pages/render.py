"""Jinja2 rendering shared by every page: templates, number formats, the plotly.js URL."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from app.config import PROJECT_ROOT, get_settings
from app.web.formatting import register_filters
from app.web.plotly_asset import PLOTLY_URL

templates = Jinja2Templates(directory=PROJECT_ROOT / "templates")
# Outside development, templates do not change while the app runs: skip the stat() of every template file
# (and of each one it includes) on every render.
templates.env.auto_reload = get_settings().environment == "development"
templates.env.globals["plotly_url"] = PLOTLY_URL
register_filters(templates.env)


def render(request: Request, template: str, context: dict[str, Any], status_code: int = 200) -> HTMLResponse:
    return templates.TemplateResponse(request, template, context, status_code=status_code)


def render_error(request: Request, status_code: int, message: str) -> HTMLResponse:
    return render(request, "error.html", {"status_code": status_code, "message": message}, status_code)
