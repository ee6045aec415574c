// LeptoGuide: progressive enhancement only; every page works without this file.
(function () {
  "use strict";
  function openAll() {
    document.querySelectorAll("details").forEach(function (d) { d.setAttribute("open", ""); });
  }
  // Open a reference row and the statement it belongs to.
  function openReference(id) {
    var target = id && document.getElementById(id);
    if (!target) { return; }
    var details = target.querySelector("details");
    if (details) { details.setAttribute("open", ""); }
    var group = target.closest(".ref-group");
    var statement = group && group.querySelector("details.ref-statement");
    if (statement) { statement.setAttribute("open", ""); }
    // and every folded section around it (a patient page folds its source list)
    var outer = target.parentElement && target.parentElement.closest("details");
    while (outer) {
      outer.setAttribute("open", "");
      outer = outer.parentElement && outer.parentElement.closest("details");
    }
  }
  // Date-times are typed in the user's own time zone: fill it in from the browser when empty,
  // and name it beside every date-time field.
  function browserZone() {
    try { return Intl.DateTimeFormat().resolvedOptions().timeZone || ""; } catch (e) { return ""; }
  }
  function showZone() {
    var box = document.getElementById("f-tz");
    var zone = (box && box.value.trim()) || "UTC";
    document.querySelectorAll(".tz-name").forEach(function (s) {
      s.textContent = "(" + zone + " time" + (s.dataset.suffix || "") + ")";
    });
  }
  document.addEventListener("DOMContentLoaded", function () {
    var zone = browserZone();
    document.querySelectorAll("input[data-browser-tz]").forEach(function (i) {
      if (!i.value && zone) { i.value = zone; }
    });
    var box = document.getElementById("f-tz");
    if (box) {
      box.addEventListener("input", showZone);
      box.addEventListener("change", function () {
        document.querySelectorAll("input[type=hidden][data-browser-tz]").forEach(function (i) { i.value = box.value; });
      });
      showZone();
    }
    // Print buttons need this script, so they only appear when it runs.
    document.querySelectorAll(".print-button-wrap[hidden]").forEach(function (w) { w.hidden = false; });
    document.querySelectorAll(".print-button").forEach(function (b) {
      b.hidden = false;
      b.addEventListener("click", function () { openAll(); window.print(); });
    });
    // Following a citation marker opens the reference it points to.
    document.querySelectorAll("a.cite").forEach(function (a) {
      a.addEventListener("click", function () { openReference(a.getAttribute("href").slice(1)); });
    });
    if (window.location.hash.length > 1) { openReference(window.location.hash.slice(1)); }
  });
  window.addEventListener("beforeprint", openAll);
})();
