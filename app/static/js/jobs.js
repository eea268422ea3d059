/* Background jobs in the pages: a progress bar with a cancel button (CSP-safe: no inline script).
 *
 * 1. <button data-job-start="/url"> inside a form: posts the form (with its CSRF field) to /url, which queues
 *    a job and answers with it as JSON; a progress bar appears in the form's [data-job-panel] (or the element
 *    named by data-job-panel-id) and follows
 *    GET /api/v1/jobs/{id} until the job ends. "Cancel" posts /api/v1/jobs/{id}/cancel.
 * 2. [data-jobs-list]: the signed-in user's recent jobs (GET /api/v1/jobs), live while any is running.
 */
(function () {
  "use strict";

  var POLL_MS = 700;
  var LIST_POLL_MS = 1500;
  var ACTIVE = { queued: true, running: true };

  function csrfToken(scope) {
    var field = (scope && scope.querySelector('input[name="csrf_token"]')) ||
      document.querySelector('input[name="csrf_token"]');
    return field ? field.value : "";
  }

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  function percent(fraction) {
    return Math.round((fraction || 0) * 100) + " %";
  }

  function statusText(job) {
    if (job.status === "queued") return "Queued — waiting for a worker";
    if (job.status === "running") {
      var chunks = job.chunks_total ? " · chunk " + job.chunks_done + " of " + job.chunks_total : "";
      return "Running " + percent(job.progress_fraction) + chunks;
    }
    if (job.status === "succeeded") return "Done";
    if (job.status === "cancelled") return "Cancelled" + (job.error ? " (" + job.error + ")" : "");
    return "Failed: " + (job.error || "unknown reason");
  }

  function request(method, url, scope, body, headers) {
    var h = { Accept: "application/json" };
    if (method !== "GET") h["X-CSRF-Token"] = csrfToken(scope);
    Object.keys(headers || {}).forEach(function (k) { h[k] = headers[k]; });
    return fetch(url, { method: method, headers: h, body: body, credentials: "same-origin" }).then(function (r) {
      return r.json().catch(function () { return {}; }).then(function (data) { return { ok: r.ok, status: r.status, data: data }; });
    });
  }

  function errorText(data) {
    var d = data && data.detail;
    if (typeof d === "string") return d;
    if (Array.isArray(d)) return d.map(function (e) { return (e.loc || []).join(".") + ": " + e.msg; }).join("; ");
    return "the job could not be started";
  }

  function renderResult(box, job) {
    var holder = box.querySelector(".job-result");
    holder.textContent = "";
    if (job.status !== "succeeded") return;
    if (job.run_id) {
      var link = el("a", null, "Open the stored run #" + job.run_id);
      link.href = "/runs/" + job.run_id;
      holder.appendChild(link);
      return;
    }
    if (job.kind === "tornado" && job.result && Array.isArray(job.result.bars)) {
      var table = el("table", "data-table");
      var head = el("tr");
      ["Input", "Low", "High", "Outcome at low", "Outcome at high"].forEach(function (t) { head.appendChild(el("th", null, t)); });
      var thead = el("thead");
      thead.appendChild(head);
      table.appendChild(thead);
      var tbody = el("tbody");
      job.result.bars.slice(0, 12).forEach(function (b) {
        var row = el("tr");
        [b.input, b.low_value, b.high_value, b.outcome_at_low, b.outcome_at_high].forEach(function (v, i) {
          var cell = el("td", i ? "num" : null, i ? Number(v).toPrecision(4) : v);
          row.appendChild(cell);
        });
        tbody.appendChild(row);
      });
      table.appendChild(tbody);
      holder.appendChild(el("p", "small muted", "Tornado of " + job.result.strategy + " on " +
        job.result.outcome.replace(/_/g, " ") + " (month " + job.result.outcome_month + ")"));
      var scroll = el("div", "table-scroll");
      scroll.appendChild(table);
      holder.appendChild(scroll);
    }
  }

  function jobBox(job) {
    var box = el("div", "job");
    box.setAttribute("data-job-id", job.id);
    box.appendChild(el("span", "job-title", "#" + job.id + " " + (job.title || job.kind)));
    var actions = el("span", "job-actions");
    var status = el("span", "job-status");
    status.setAttribute("role", "status");
    actions.appendChild(status);
    var cancel = el("button", "secondary", "Cancel");
    cancel.type = "button";
    cancel.setAttribute("data-job-cancel", job.id);
    actions.appendChild(cancel);
    box.appendChild(actions);
    var bar = el("progress", "job-bar");
    bar.max = 1;
    bar.setAttribute("aria-label", "Progress of job " + job.id);
    box.appendChild(bar);
    box.appendChild(el("div", "job-result"));
    updateBox(box, job);
    return box;
  }

  function updateBox(box, job) {
    var bar = box.querySelector("progress");
    bar.value = job.status === "succeeded" ? 1 : (job.progress_fraction || 0);
    bar.setAttribute("data-progress", String(job.progress_fraction || 0));
    var status = box.querySelector(".job-status");
    status.textContent = statusText(job);
    status.setAttribute("data-status", job.status);
    box.setAttribute("data-status", job.status);
    var cancel = box.querySelector("[data-job-cancel]");
    cancel.hidden = !ACTIVE[job.status];
    renderResult(box, job);
  }

  function follow(box, id, scope) {
    function tick() {
      request("GET", "/api/v1/jobs/" + id, scope).then(function (r) {
        if (!r.ok) return;
        updateBox(box, r.data);
        if (ACTIVE[r.data.status]) window.setTimeout(tick, POLL_MS);
      });
    }
    window.setTimeout(tick, POLL_MS);
  }

  function cancelJob(button, scope) {
    var id = button.getAttribute("data-job-cancel");
    button.disabled = true;
    request("POST", "/api/v1/jobs/" + id + "/cancel", scope).then(function (r) {
      var box = button.closest("[data-job-id]");
      if (box && r.data && r.data.status) updateBox(box, r.data);
      button.disabled = false;
    });
  }

  document.addEventListener("click", function (event) {
    var start = event.target.closest("[data-job-start]");
    if (start) {
      event.preventDefault();
      var form = start.closest("form");
      var panelId = start.getAttribute("data-job-panel-id");
      var panel = (panelId && document.getElementById(panelId)) ||
        (form && form.querySelector("[data-job-panel]")) || document.querySelector("[data-job-panel]");
      start.disabled = true;
      request("POST", start.getAttribute("data-job-start"), form, new FormData(form)).then(function (r) {
        start.disabled = false;
        if (!r.ok) {
          var message = el("p", "error", errorText(r.data));
          message.setAttribute("role", "alert");
          panel.insertBefore(message, panel.firstChild);
          return;
        }
        var box = jobBox(r.data);
        panel.insertBefore(box, panel.firstChild);
        follow(box, r.data.id, form);
      });
      return;
    }
    var cancel = event.target.closest("[data-job-cancel]");
    if (cancel) {
      event.preventDefault();
      cancelJob(cancel, cancel.closest("form") || document);
    }
  });

  function refreshList(list) {
    var limit = list.getAttribute("data-jobs-limit") || "20";
    request("GET", "/api/v1/jobs?limit=" + encodeURIComponent(limit), list).then(function (r) {
      var empty = list.querySelector("[data-jobs-empty]");
      if (!r.ok) {
        if (empty) empty.textContent = r.status === 401 ? "Sign in to see your background jobs." : "Jobs could not be read.";
        return;
      }
      var items = r.data.items || [];
      if (empty) {
        empty.textContent = items.length ? "" : "No background jobs yet.";
        empty.hidden = items.length > 0;
      }
      var anyActive = false;
      items.forEach(function (job) {
        var box = list.querySelector('[data-job-id="' + job.id + '"]');
        if (box) updateBox(box, job);
        else list.appendChild(jobBox(job));
        if (ACTIVE[job.status]) anyActive = true;
      });
      if (anyActive) window.setTimeout(function () { refreshList(list); }, LIST_POLL_MS);
    });
  }

  function init() {
    Array.prototype.forEach.call(document.querySelectorAll("[data-jobs-list]"), refreshList);
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
