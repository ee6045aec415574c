// LeptoGuide: progressive enhancement only; every page works without this file.
(function () {
  "use strict";
  function openAll() {
    document.querySelectorAll("details").forEach(function (d) { d.setAttribute("open", ""); });
  }
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll(".print-button").forEach(function (b) {
      b.addEventListener("click", function () { openAll(); window.print(); });
    });
    // Following a citation marker opens the reference it points to.
    document.querySelectorAll("a.cite").forEach(function (a) {
      a.addEventListener("click", function () {
        var target = document.getElementById(a.getAttribute("href").slice(1));
        var details = target && target.querySelector("details");
        if (details) { details.setAttribute("open", ""); }
      });
    });
  });
  window.addEventListener("beforeprint", openAll);
})();
