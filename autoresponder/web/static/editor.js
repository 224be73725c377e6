/* Template editor: check the draft as the admin types and preview the reply it makes for
   the chosen account (debounced); the check result is shown beside the source. */
"use strict";
(function () {
  var form = document.getElementById("template-form");
  if (!form || !window.ARPreview) { return; }
  var box = document.getElementById("check-result");
  var text = document.getElementById("check-text");
  var source = document.getElementById("source");

  function checked(result) {
    var failed = !!result.problem;
    box.className = failed ? "problem" : "fine";
    text.textContent = (failed ? "\u2717 " : "\u2713 ") + (result.problem_text || "");
    source.setAttribute("aria-invalid", failed ? "true" : "false");
  }

  window.ARPreview.live(form, form.getAttribute("data-check"), 400, checked);
})();
