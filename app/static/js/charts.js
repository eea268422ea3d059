/* Price War Room: the one script of the site.
 *
 * 1. Draws every chart: <figure class="chart"> holds its Plotly figure as JSON in
 *    <script type="application/json" class="chart-figure">; the theme (light/dark, from CSS custom
 *    properties) is applied here, so figures stay plain data.
 * 2. Theme toggle (auto → light → dark), remembered in localStorage.
 * 3. Live forms: <form data-live="/url"> fetch new charts as the inputs change (sliders) and redraw
 *    them without a reload; the address bar follows so a copied link reproduces the view. Without
 *    JavaScript the same forms submit normally.
 * No inline scripts or handlers anywhere: this file is CSP-compatible (script-src 'self').
 */
(function () {
  "use strict";

  var THEME_KEY = "pricewar-theme";
  var root = document.documentElement;

  function storedTheme() {
    try { return localStorage.getItem(THEME_KEY) || "auto"; } catch (e) { return "auto"; }
  }

  function applyThemeAttribute(theme) {
    if (theme === "light" || theme === "dark") { root.setAttribute("data-theme", theme); }
    else { root.removeAttribute("data-theme"); }
  }
  applyThemeAttribute(storedTheme());

  function cssVar(name, fallback) {
    var value = getComputedStyle(root).getPropertyValue(name).trim();
    return value || fallback;
  }

  function themeLayout() {
    var fg = cssVar("--fg", "#1b1f24");
    var grid = cssVar("--grid", "#e3e7ec");
    var line = cssVar("--border", "#d8dde3");
    var bg = cssVar("--bg", "#ffffff");
    return {
      fg: fg, grid: grid, line: line, bg: bg,
      font: { color: fg, family: getComputedStyle(document.body).fontFamily, size: 13 },
    };
  }

  function themed(layout) {
    var t = themeLayout();
    var out = JSON.parse(JSON.stringify(layout || {}));
    out.paper_bgcolor = "rgba(0,0,0,0)";
    out.plot_bgcolor = "rgba(0,0,0,0)";
    out.font = Object.assign({}, t.font, out.font || {});
    out.hoverlabel = Object.assign({ bgcolor: t.bg, bordercolor: t.line, font: { color: t.fg } }, out.hoverlabel || {});
    if (out.legend) { out.legend.bgcolor = "rgba(0,0,0,0)"; }
    Object.keys(out).forEach(function (key) {
      if (/^[xy]axis\d*$/.test(key)) {
        out[key].gridcolor = t.grid;
        out[key].linecolor = t.line;
        out[key].zerolinecolor = t.line;
        out[key].tickcolor = t.line;
      }
      if (key === "coloraxis" && out[key].colorbar) { out[key].colorbar.outlinecolor = t.line; }
    });
    (out.shapes || []).forEach(function (s) {
      if (s.line && s.line.color === "theme") { s.line.color = t.fg; }
    });
    (out.annotations || []).forEach(function (a) {
      if (!a.font || !a.font.color) { a.font = Object.assign({}, a.font || {}, { color: t.fg }); }
    });
    out.autosize = true;
    return out;
  }

  /* Phones (a plot narrower than 640 px): the legend goes below the plot (never over it), the toolbar is
     dropped (it covered the legends; pinch-zoom and the data table remain), margins shrink so heatmap cells
     keep room for their values, and x labels are fewer. */
  var NARROW_PX = 640;
  function isNarrow(target) { return (target && target.clientWidth || window.innerWidth) < NARROW_PX; }

  /* Display currency (body data-currency-*): money axes (tickprefix "$") and the series on them are scaled
     from USD by the page's dated rate, so axes, hovers and the server-formatted text agree. */
  function currency() {
    var b = document.body;
    var rate = b ? parseFloat(b.getAttribute("data-currency-rate") || "1") : 1;
    return { code: b ? b.getAttribute("data-currency") || "USD" : "USD", rate: isNaN(rate) ? 1 : rate,
             symbol: b ? b.getAttribute("data-currency-symbol") || "$" : "$" };
  }

  function inCurrency(layout, data, given) {
    var c = given || currency();
    if (c.code === "USD" || c.rate === 1) { return; }
    var money = {};  // money axis id ("x", "y2") → true when the axis is logarithmic
    var shift = Math.log(c.rate) / Math.LN10;  // log axes: ranges, shapes and annotations are in log10 units
    function renamed(text) { return text.split("USD").join(c.code).split("$").join(c.symbol); }
    Object.keys(layout).forEach(function (key) {
      var m = /^([xy])axis(\d*)$/.exec(key);
      if (m && layout[key].tickprefix === "$") {
        var log = layout[key].type === "log";
        layout[key].tickprefix = c.symbol;
        money[m[1] + (m[2] || "")] = log;
        if (layout[key].range) {
          layout[key].range = layout[key].range.map(function (v) { return log ? v + shift : v * c.rate; });
        }
        var title = layout[key].title;
        if (typeof title === "string") { layout[key].title = renamed(title); }
        else if (title && typeof title.text === "string") { title.text = renamed(title.text); }
      }
    });
    function isMoney(ref) { return Object.prototype.hasOwnProperty.call(money, ref); }
    function scale(values) { return values.map(function (v) { return typeof v === "number" ? v * c.rate : v; }); }
    function place(v, ref) { return typeof v !== "number" ? v : (money[ref] ? v + shift : v * c.rate); }
    (data || []).forEach(function (t) {
      ["x", "y"].forEach(function (axis) {
        var ref = t[axis + "axis"] || axis;
        if (isMoney(ref) && Array.isArray(t[axis])) { t[axis] = scale(t[axis]); }
        if (isMoney(ref) && axis === (t.orientation === "h" ? "x" : "y") && typeof t.base === "number") { t.base *= c.rate; }
      });
      if (typeof t.hovertemplate === "string") {
        t.hovertemplate = t.hovertemplate.split("$%{").join(c.symbol + "%{").replace(/%\{([xy]):\$/g, c.symbol + "%{$1:");
      }
    });
    // Lines and labels placed on a money axis (a zero line, the tornado's base, a floor) move with it.
    (layout.shapes || []).forEach(function (s) {
      ["x", "y"].forEach(function (axis) {
        var ref = s[axis + "ref"] || axis;
        if (isMoney(ref)) { s[axis + "0"] = place(s[axis + "0"], ref); s[axis + "1"] = place(s[axis + "1"], ref); }
      });
    });
    (layout.annotations || []).forEach(function (a) {
      ["x", "y"].forEach(function (axis) {
        var ref = a[axis + "ref"] || axis;
        if (isMoney(ref)) { a[axis] = place(a[axis], ref); }
      });
    });
  }

  function fitted(layout, data, narrow) {
    if (!narrow) { return layout; }
    var out = layout;
    var traces = (data || []).filter(function (t) { return t.showlegend !== false && t.name; });
    if (out.showlegend !== false && traces.length > 1) {
      out.legend = Object.assign({}, out.legend || {}, {
        orientation: "h", x: 0, xanchor: "left", y: 0, yanchor: "bottom", yref: "container",
        font: { size: 11 },
      });
      var rows = Math.ceil(traces.length / 2);
      out.height = (out.height || 360) + 22 * rows;
    }
    out.margin = Object.assign({}, out.margin || {});
    out.margin.r = Math.min(out.margin.r == null ? 16 : out.margin.r, 12);
    if ((out.margin.l || 0) > 90) { out.margin.l = 90; }
    out.margin.t = Math.min(out.margin.t == null ? 30 : out.margin.t, 40);
    Object.keys(out).forEach(function (key) {
      if (/^[xy]axis\d*$/.test(key)) {
        out[key].tickfont = Object.assign({ size: 10 }, out[key].tickfont || {});
        if (out[key].title && out[key].title.font == null) { out[key].title.font = { size: 11 }; }
      }
      if (/^xaxis\d*$/.test(key)) {
        if (out[key].type === "category") {  // every category keeps its label, angled to fit
          if (out[key].tickangle == null) { out[key].tickangle = -45; }
        } else {
          out[key].nticks = Math.min(out[key].nticks || 6, 6);
        }
      }
    });
    (data || []).forEach(function (t) {
      if (t.type === "heatmap") { t.textfont = Object.assign({ size: 9 }, t.textfont || {}); }
    });
    return out;
  }

  var CONFIG = { responsive: true, displaylogo: false, modeBarButtonsToRemove: ["select2d", "lasso2d"] };

  function figureOf(el) {
    var holder = el.querySelector("script.chart-figure");
    if (!holder) { return null; }
    try { return JSON.parse(holder.textContent); } catch (e) { return null; }
  }

  function plotTarget(el) { return el.querySelector(".chart-plot"); }

  function draw(el, fig) {
    var target = plotTarget(el);
    if (!target || !window.Plotly || !fig) { return Promise.resolve(); }
    el._figure = fig;
    var narrow = isNarrow(target);
    var converted = currency().code !== "USD";
    var data = (narrow || converted) ? JSON.parse(JSON.stringify(fig.data || [])) : (fig.data || []);
    var shown = themed(fig.layout);
    if (converted) { inCurrency(shown, data); }
    var config = narrow ? Object.assign({}, CONFIG, { displayModeBar: false }) : CONFIG;
    return window.Plotly.react(target, data, fitted(shown, data, narrow), config).then(function () {
      // Milliseconds since navigation start: the browser tests read the first-draw time from it.
      el.setAttribute("data-drawn", String(Math.round(performance.now())));
      // A drawn plot holds focusable controls (legend, toolbar): a labelled group, no longer an image.
      if (target.getAttribute("role") === "img") { target.setAttribute("role", "group"); }
    });
  }

  function nearViewport(el) {
    var r = el.getBoundingClientRect();
    return r.bottom >= -200 && r.top <= (window.innerHeight || 800) + 200;
  }

  /* First load: charts in view first, the rest one per frame, so the first chart appears as early as possible. */
  function drawAll() {
    var els = Array.prototype.slice.call(document.querySelectorAll("figure.chart"));
    var visible = els.filter(nearViewport);
    var later = els.filter(function (el) { return !nearViewport(el); });
    visible.forEach(function (el) { draw(el, figureOf(el)); });
    (function next() {
      var el = later.shift();
      if (!el) { return; }
      (window.requestAnimationFrame || setTimeout)(function () { draw(el, figureOf(el)).then(next); });
    })();
  }

  /* Redraws: a chart out of view keeps its new figure until it scrolls into view (its caption, summary and
     table are updated at once), so a slider only pays for what is on screen. */
  var observer = ("IntersectionObserver" in window) ? new IntersectionObserver(function (entries) {
    entries.forEach(function (entry) {
      var el = entry.target;
      if (entry.isIntersecting && el._pending) {
        var fig = el._pending;
        el._pending = null;
        el.removeAttribute("data-stale");
        observer.unobserve(el);
        draw(el, fig);
      }
    });
  }, { rootMargin: "200px" }) : null;

  function drawWhenVisible(el, fig) {
    if (!observer || nearViewport(el)) {
      el._pending = null;
      el.removeAttribute("data-stale");
      return draw(el, fig);
    }
    el._pending = fig;
    el.setAttribute("data-stale", "");
    observer.observe(el);
    return Promise.resolve();
  }

  function redrawThemes() {
    var els = document.querySelectorAll("figure.chart");
    Array.prototype.forEach.call(els, function (el) { if (el._figure) { draw(el, el._figure); } });
  }

  function setupThemeToggle() {
    var button = document.querySelector("[data-theme-toggle]");
    if (!button) { return; }
    var labels = { auto: "Theme: auto", light: "Theme: light", dark: "Theme: dark" };
    function show() { button.textContent = labels[storedTheme()] || labels.auto; }
    button.hidden = false;
    show();
    button.addEventListener("click", function () {
      var next = { auto: "light", light: "dark", dark: "auto" }[storedTheme()] || "auto";
      try { localStorage.setItem(THEME_KEY, next); } catch (e) { /* private mode: not remembered */ }
      applyThemeAttribute(next);
      show();
      redrawThemes();
    });
    if (window.matchMedia) {
      var mq = window.matchMedia("(prefers-color-scheme: dark)");
      if (mq.addEventListener) { mq.addEventListener("change", redrawThemes); }
    }
  }

  /* ---- the "show data" table and summary of a chart, refreshed from JSON ---- */
  // Captions and column headers say "$" for money; the amounts are already in the display currency.
  function moneyLabel(text) { return String(text).split("$").join(currency().symbol); }
  function fillTable(el, tableData) {
    var tableEl = el.querySelector("table.chart-table");
    if (!tableEl || !tableData) { return; }
    var thead = tableEl.querySelector("thead");
    var tbody = tableEl.querySelector("tbody");
    thead.textContent = "";
    tbody.textContent = "";
    var hr = document.createElement("tr");
    tableData.columns.forEach(function (c) {
      var th = document.createElement("th"); th.scope = "col"; th.textContent = moneyLabel(c); hr.appendChild(th);
    });
    thead.appendChild(hr);
    tableData.rows.forEach(function (row) {
      var tr = document.createElement("tr");
      row.forEach(function (cell) { var td = document.createElement("td"); td.textContent = cell; tr.appendChild(td); });
      tbody.appendChild(tr);
    });
  }

  function updateChart(chart, immediate) {
    var el = document.getElementById("chart-" + chart.key);
    if (!el) { return Promise.resolve(); }
    var summary = el.querySelector(".chart-summary");
    if (summary) { summary.textContent = chart.summary; }
    var caption = el.querySelector(".chart-caption");
    if (caption) { caption.textContent = moneyLabel(chart.caption); }
    var plot = plotTarget(el);
    if (plot) { plot.setAttribute("aria-label", chart.summary); }
    fillTable(el, chart.table);
    return immediate ? draw(el, chart.figure) : drawWhenVisible(el, chart.figure);
  }

  /* ---- live forms ---- */
  function formQuery(form) {
    var params = new URLSearchParams();
    new FormData(form).forEach(function (value, key) {
      if (typeof value === "string" && key !== "csrf_token") { params.append(key, value); }
    });
    return params;
  }

  /* A month slider bounded by the horizon (data-max-from="horizon") follows the horizon as it moves. */
  function syncBounds(form) {
    Array.prototype.forEach.call(form.querySelectorAll("input[data-max-from]"), function (input) {
      var source = form.querySelector("[name='" + input.getAttribute("data-max-from") + "']");
      var high = source ? parseFloat(source.value) : NaN;
      if (isNaN(high)) { return; }
      input.max = String(high);
      if (parseFloat(input.value) > high) { input.value = String(high); }
    });
  }

  function syncOutputs(form) {
    syncBounds(form);
    Array.prototype.forEach.call(form.querySelectorAll("output[data-for]"), function (out) {
      var input = form.querySelector("[name='" + out.getAttribute("data-for") + "']");
      if (!input) { return; }
      var unit = out.getAttribute("data-unit") || "";
      var scale = parseFloat(out.getAttribute("data-scale") || "1");
      var digits = parseInt(out.getAttribute("data-digits") || "2", 10);
      var v = parseFloat(input.value);
      out.textContent = isNaN(v) ? input.value : (v * scale).toFixed(digits) + unit;
    });
  }

  /* Slow extras (the tornado: two simulations per input) follow the main refresh, debounced, so dragging a
     slider never queues a slow computation in front of the next fast one. */
  var extraTimer = null;
  var extraSeq = 0;
  function fetchExtra(form, params, delayMs) {
    var extra = form.getAttribute("data-live-extra");
    if (!extra) { return; }
    if (extraTimer) { clearTimeout(extraTimer); }
    form.setAttribute("data-extra-pending", "");
    extraTimer = setTimeout(function () {
      var mine = ++extraSeq;
      var lazy = document.querySelectorAll("figure.chart[data-lazy] .chart-summary");
      Array.prototype.forEach.call(lazy, function (p) { p.textContent = "Computing…"; });
      fetch(extra + "?" + params.toString(), { headers: { Accept: "application/json" }, credentials: "same-origin" })
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (body) {
          if (!body || mine !== extraSeq) { return; }
          return Promise.all((body.charts || []).map(function (c) {
            var el = document.getElementById("chart-" + c.key);
            var first = el && el.hasAttribute("data-lazy");  // a first draw is never deferred
            if (el) { el.removeAttribute("data-lazy"); }
            return updateChart(c, first);
          }));
        })
        .catch(function () { /* the no-JS link stays as the fallback */ })
        .then(function () { if (mine === extraSeq) { form.removeAttribute("data-extra-pending"); } });
    }, delayMs);
  }

  function setupLiveForm(form) {
    var url = form.getAttribute("data-live");
    var timer = null;
    var seq = 0;
    var status = form.querySelector("[data-live-status]");
    function refresh() {
      var mine = ++seq;
      var started = performance.now();
      var params = formQuery(form);
      form.setAttribute("aria-busy", "true");
      fetch(url + "?" + params.toString(), { headers: { Accept: "application/json" }, credentials: "same-origin" })
        .then(function (r) { return r.json().then(function (body) { return { ok: r.ok, body: body }; }); })
        .then(function (res) {
          if (mine !== seq) { return; }
          form.removeAttribute("aria-busy");
          Array.prototype.forEach.call(form.querySelectorAll(".field-error[data-live-error]"), function (e) { e.remove(); });
          if (!res.ok) {
            var errors = (res.body && res.body.errors) || {};
            Object.keys(errors).forEach(function (name) {
              var input = form.querySelector("[name='" + name + "']");
              if (!input) { return; }
              var p = document.createElement("p");
              p.className = "field-error"; p.setAttribute("data-live-error", ""); p.setAttribute("role", "alert");
              p.textContent = errors[name];
              input.insertAdjacentElement("afterend", p);
            });
            if (status) { status.textContent = "Check the highlighted inputs."; }
            return;
          }
          var body = res.body;
          var draws = (body.charts || []).map(function (c) { return updateChart(c, false); });
          Object.keys(body.fragments || {}).forEach(function (id) {
            var target = document.getElementById(id);
            if (target) { target.textContent = body.fragments[id]; }
          });
          if (body.url) {
            history.replaceState(null, "", body.url);
            var query = body.url.indexOf("?") >= 0 ? body.url.slice(body.url.indexOf("?") + 1) : "";
            Array.prototype.forEach.call(document.querySelectorAll("input[data-live-query]"), function (i) { i.value = query; });
          }
          fetchExtra(form, params, 700);
          Array.prototype.forEach.call(document.querySelectorAll("[data-share-link]"), function (a) {
            if (body.url) { a.setAttribute("href", body.url); }
          });
          Promise.all(draws).then(function () {
            var ms = Math.round(performance.now() - started);
            form.setAttribute("data-redraw-ms", String(ms));
            if (status) { status.textContent = "Updated in " + ms + " ms."; }
            document.dispatchEvent(new CustomEvent("pricewar:redrawn", { detail: { ms: ms } }));
          });
        })
        .catch(function () { form.removeAttribute("aria-busy"); if (status) { status.textContent = "Could not update; press Apply."; } });
    }
    function schedule() {
      syncOutputs(form);
      if (timer) { clearTimeout(timer); }
      timer = setTimeout(refresh, 120);
    }
    form.addEventListener("input", schedule);
    form.addEventListener("change", schedule);
    syncOutputs(form);
    if (form.getAttribute("data-live-extra") && document.querySelector("figure.chart[data-lazy]")) {
      fetchExtra(form, formQuery(form), 0);
    }
  }

  function setupCopyLinks() {
    Array.prototype.forEach.call(document.querySelectorAll("[data-copy-link]"), function (button) {
      button.hidden = false;
      button.addEventListener("click", function () {
        var text = window.location.href;
        if (navigator.clipboard) { navigator.clipboard.writeText(text).catch(function () {}); }
        button.textContent = "Link copied";
        setTimeout(function () { button.textContent = "Copy link"; }, 1500);
      });
    });
  }

  function setupSubmitOnChange() {
    Array.prototype.forEach.call(document.querySelectorAll("[data-submit-on-change]"), function (el) {
      el.addEventListener("change", function () { if (el.form) { el.form.submit(); } });
    });
  }

  /* The display currency travels with the user: internal links and GET forms carry ?currency=… */
  function carryCurrency() {
    var code = currency().code;
    if (code === "USD") { return; }
    Array.prototype.forEach.call(document.querySelectorAll("a[href^='/']"), function (a) {
      var href = a.getAttribute("href");
      if (/^\/(static|assets|docs|openapi)/.test(href) || /[?&]currency=/.test(href)) { return; }
      var hash = href.indexOf("#") >= 0 ? href.slice(href.indexOf("#")) : "";
      var path = hash ? href.slice(0, href.indexOf("#")) : href;
      a.setAttribute("href", path + (path.indexOf("?") >= 0 ? "&" : "?") + "currency=" + code + hash);
    });
    Array.prototype.forEach.call(document.querySelectorAll("form"), function (f) {
      if ((f.getAttribute("method") || "get").toLowerCase() !== "get" || f.querySelector("[name='currency']")) { return; }
      var input = document.createElement("input");
      input.type = "hidden"; input.name = "currency"; input.value = code;
      f.appendChild(input);
    });
  }

  /* The overview's short tour: dismissed once, remembered (without JavaScript it simply stays). */
  var TOUR_KEY = "pricewar-tour-dismissed";
  function setupTour() {
    var tour = document.querySelector("[data-tour]");
    if (!tour) { return; }
    var dismissed = false;
    try { dismissed = localStorage.getItem(TOUR_KEY) === "1"; } catch (e) { /* private mode */ }
    if (dismissed) { tour.hidden = true; return; }
    var button = tour.querySelector("[data-tour-dismiss]");
    if (!button) { return; }
    button.hidden = false;
    button.addEventListener("click", function () {
      try { localStorage.setItem(TOUR_KEY, "1"); } catch (e) { /* not remembered */ }
      tour.hidden = true;
      var main = document.getElementById("main");
      if (main && main.focus) { main.setAttribute("tabindex", "-1"); main.focus(); }
    });
  }

  /* A region that scrolls sideways (wide tables) must be reachable by keyboard: focusable, and named. */
  function focusableScrollers() {
    var focusable = "a[href], button, input, select, textarea, summary, [tabindex]";
    Array.prototype.forEach.call(document.querySelectorAll(".table-scroll, .data-table, .table-tall"), function (el) {
      if (el.closest("details:not([open])") || el.querySelector(focusable) || el.hasAttribute("tabindex")) { return; }
      if (el.scrollWidth <= el.clientWidth + 1 && el.scrollHeight <= el.clientHeight + 1) { return; }
      el.setAttribute("tabindex", "0");
      if (!el.hasAttribute("role") && el.tagName !== "TABLE") { el.setAttribute("role", "region"); }
      if (!el.hasAttribute("aria-label")) { el.setAttribute("aria-label", "Scrollable table"); }
    });
  }

  function start() {
    setupTour();
    focusableScrollers();
    carryCurrency();
    setupThemeToggle();
    setupSubmitOnChange();
    setupCopyLinks();
    Array.prototype.forEach.call(document.querySelectorAll("form[data-live]"), setupLiveForm);
    if (window.Plotly) { drawAll(); }
    else {
      var tag = document.querySelector("script[data-plotly]");
      if (tag) { tag.addEventListener("load", drawAll); }
    }
  }

  window.PriceWar = { draw: draw, updateChart: updateChart, drawAll: drawAll, inCurrency: inCurrency };
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", start); }
  else { start(); }
})();
