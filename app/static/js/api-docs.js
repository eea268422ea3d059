// Starts Swagger UI on /docs from the locally served bundle (kept out of the page so CSP forbids inline scripts),
// and applies the site's theme choice (auto → light → dark, the same localStorage key as the app's toggle).
(function () {
  "use strict";
  var KEY = "pricewar-theme";
  var root = document.documentElement;
  function stored() { try { return localStorage.getItem(KEY) || "auto"; } catch (e) { return "auto"; } }
  function apply(theme) {
    if (theme === "light" || theme === "dark") { root.setAttribute("data-theme", theme); }
    else { root.removeAttribute("data-theme"); }
  }
  apply(stored());
  var button = document.querySelector("[data-theme-toggle]");
  if (button) {
    var labels = { auto: "Theme: auto", light: "Theme: light", dark: "Theme: dark" };
    button.hidden = false;
    button.textContent = labels[stored()] || labels.auto;
    button.addEventListener("click", function () {
      var next = { auto: "light", light: "dark", dark: "auto" }[stored()] || "auto";
      try { localStorage.setItem(KEY, next); } catch (e) { /* private mode: not remembered */ }
      apply(next);
      button.textContent = labels[next];
    });
  }
  var node = document.getElementById("swagger-ui");
  window.ui = SwaggerUIBundle({
    url: node.getAttribute("data-openapi-url"),
    dom_id: "#swagger-ui",
    deepLinking: true,
    persistAuthorization: false,
    presets: [SwaggerUIBundle.presets.apis],
    layout: "BaseLayout",
  });
})();
