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
  }
  document.addEventListener("DOMContentLoaded", function () {
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
