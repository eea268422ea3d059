"""The Chart value and the shared figure vocabulary: palette, axes with units, number formats."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

# Okabe & Ito (2008), "Color Universal Design": distinguishable with every common colour-vision deficiency.
# Black is replaced by grey so the last colour stays visible on the dark theme.
PALETTE: tuple[str, ...] = (
    "#0072B2",  # blue
    "#E69F00",  # orange
    "#009E73",  # bluish green
    "#D55E00",  # vermillion
    "#56B4E9",  # sky blue
    "#CC79A7",  # reddish purple
    "#F0E442",  # yellow
    "#999999",  # grey
)
OURS = PALETTE[0]
FLOOR = PALETTE[3]


def color(index: int) -> str:
    return PALETTE[index % len(PALETTE)]


def rgba(hex_color: str, alpha: float) -> str:
    r, g, b = (int(hex_color[i : i + 2], 16) for i in (1, 3, 5))
    return f"rgba({r},{g},{b},{alpha})"


@dataclass(frozen=True)
class TableData:
    """The "show data" table: header cells and formatted rows (what the screen and the CSV export show)."""

    columns: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]


@dataclass(frozen=True)
class Chart:
    key: str
    caption: str
    summary: str
    figure: dict[str, Any]
    table: TableData = field(default_factory=lambda: TableData((), ()))
    height_px: int = 360
    wide: bool = False  # spans both columns of a two-column grid

    def as_json(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "caption": self.caption,
            "summary": self.summary,
            "figure": self.figure,
            "table": {"columns": list(self.table.columns), "rows": [list(r) for r in self.table.rows]},
        }


def table(columns: Sequence[str], rows: Sequence[Sequence[str]]) -> TableData:
    return TableData(tuple(columns), tuple(tuple(str(c) for c in row) for row in rows))


def axis(title: str, *, money: bool = False, percent: bool = False, **extra: Any) -> dict[str, Any]:
    """An axis whose title carries the unit; money axes read $1.2M, percent axes 40 %."""
    spec: dict[str, Any] = {"title": {"text": title}, "automargin": True}
    if money:
        spec.update(tickprefix="$", tickformat="~s")
    if percent:
        spec.update(tickformat=".0%", rangemode="tozero")
    spec.update(extra)
    return spec


def layout(x: dict[str, Any], y: dict[str, Any], **extra: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "xaxis": x,
        "yaxis": y,
        "margin": {"l": 64, "r": 16, "t": 40, "b": 56},
        # Legends sit above the plot, so they never collide with the x-axis title.
        "legend": {"orientation": "h", "y": 1.02, "yanchor": "bottom", "x": 0},
        "hovermode": "closest",
        "colorway": list(PALETTE),
    }
    base.update(extra)
    return base


def figure(data: list[dict[str, Any]], layout_spec: dict[str, Any]) -> dict[str, Any]:
    """Every chart's figure is made here, so every text in it (trace names, hover text, category labels,
    titles, annotations, and names pasted into hover templates) is escaped for Plotly once."""
    return {"data": escape_text(data), "layout": escape_text(layout_spec)}


# Plotly renders its text as a small HTML-like language (<a href>, <b>, <span style>...): a name typed by a
# user must show as typed, never as markup. Only the tags the charts themselves use survive.
_KEPT_TAGS = ("<br>", "<extra>", "</extra>")


def plotly_text(value: str) -> str:
    """`value` as literal text in a Plotly label (& < > as entities, which Plotly shows as characters)."""
    if "<" not in value and ">" not in value and "&" not in value:
        return value
    escaped = value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    for tag in _KEPT_TAGS:
        escaped = escaped.replace(tag.replace("<", "&lt;").replace(">", "&gt;"), tag)
    return escaped


_PLAIN = (int, float, bool, type(None))


def escape_text(value: Any) -> Any:
    """A copy of a figure part with every string passed through plotly_text (numbers untouched)."""
    if isinstance(value, str):
        return plotly_text(value)
    if isinstance(value, dict):
        return {k: escape_text(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        if all(isinstance(v, _PLAIN) for v in value):
            return value
        return [escape_text(v) for v in value]
    return value
