"""Pure chart builders: engine or service results in, Plotly figure dicts out.

A `Chart` carries everything a page shows about one chart: the figure (drawn by app/static/js/charts.js), a
caption, a one-sentence summary and the same numbers as a table ("show data"). Builders never touch the
database or HTTP, and never set colours for the theme: charts.js applies the light or dark template.
"""

from app.web.charts.base import Chart, TableData

__all__ = ["Chart", "TableData"]
