/* kehu's page behaviour. No inline scripts anywhere (the Content-Security-Policy forbids them): pages declare
   what they need with data- attributes and this file wires it up, also for content htmx swaps in. */
(function () {
  "use strict";

  function onReady(fn) {
    if (document.readyState !== "loading") fn();
    else document.addEventListener("DOMContentLoaded", fn);
  }

  // `/` focuses the global search box unless the user is typing somewhere already.
  document.addEventListener("keydown", function (event) {
    if (event.key !== "/" || event.ctrlKey || event.metaKey || event.altKey) return;
    var target = event.target;
    var typing = target && (target.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(target.tagName));
    if (typing) return;
    var box = document.querySelector("[data-shortcut='/']");
    if (box) {
      event.preventDefault();
      box.focus();
      box.select();
    }
  });

  // Selects marked data-autosubmit submit their form on change (the language switch, page size).
  document.addEventListener("change", function (event) {
    var el = event.target;
    if (el && el.matches && el.matches("[data-autosubmit]") && el.form) {
      if (el.form.requestSubmit) el.form.requestSubmit();
      else el.form.submit();
    }
  });

  // "Select all" checkboxes for bulk actions.
  document.addEventListener("change", function (event) {
    var el = event.target;
    if (!el || !el.matches || !el.matches("[data-select-all]")) return;
    var boxes = document.querySelectorAll("input[name='" + el.getAttribute("data-select-all") + "']");
    boxes.forEach(function (box) { box.checked = el.checked; });
    updateBulk();
  });
  document.addEventListener("change", function (event) {
    if (event.target && event.target.matches && event.target.matches("input[name='ids']")) updateBulk();
  });
  function updateBulk() {
    var count = document.querySelectorAll("input[name='ids']:checked").length;
    document.querySelectorAll("[data-selected-count]").forEach(function (el) { el.textContent = String(count); });
    document.querySelectorAll("[data-needs-selection]").forEach(function (el) { el.disabled = count === 0; });
  }

  // Charts: <div data-chart="ID"> with <script type="application/json" id="ID"> holding an ECharts option.
  function drawCharts(root) {
    if (!window.echarts) return;
    (root || document).querySelectorAll("[data-chart]").forEach(function (el) {
      if (el.getAttribute("data-drawn")) return;
      var source = document.getElementById(el.getAttribute("data-chart"));
      if (!source) return;
      var chart = window.echarts.init(el, null, { renderer: "svg" });
      chart.setOption(JSON.parse(source.textContent));
      el.setAttribute("data-drawn", "1");
      window.addEventListener("resize", function () { chart.resize(); });
    });
  }

  // Close the other <details> dropdowns when one opens, and all of them on Escape.
  document.addEventListener("toggle", function (event) {
    var el = event.target;
    if (el.tagName === "DETAILS" && el.open && el.classList.contains("dropdown")) {
      document.querySelectorAll("details.dropdown[open]").forEach(function (other) { if (other !== el) other.open = false; });
    }
  }, true);
  document.addEventListener("keydown", function (event) {
    if (event.key === "Escape") document.querySelectorAll("details.dropdown[open]").forEach(function (d) { d.open = false; });
  });

  onReady(function () {
    drawCharts(document);
    updateBulk();
    document.body.addEventListener("htmx:afterSettle", function (event) { drawCharts(event.target); updateBulk(); });
    // The list's state lives in the URL; keep "save this view" in step with it.
    document.body.addEventListener("htmx:pushedIntoHistory", function () {
      document.querySelectorAll("[data-state]").forEach(function (el) { el.value = window.location.search.replace(/^\?/, ""); });
    });
  });
})();
