/* Template editor: check the draft as the admin types and preview the reply it makes for
   the chosen account (debounced); the check result is shown beside the source, with a
   button that puts the cursor on the line it names. */
"use strict";
(function () {
  var form = document.getElementById("template-form");
  if (!form || !window.ARPreview) { return; }
  var box = document.getElementById("check-result");
  var text = document.getElementById("check-text");
  var source = document.getElementById("source");
  var goto = document.getElementById("goto-line");
  var flash = document.getElementById("flash");

  function showLine(line) {
    var lines = source.value.split("\n");
    var start = 0;
    for (var i = 0; i < line - 1 && i < lines.length; i++) { start += lines[i].length + 1; }
    var end = start + (lines[line - 1] || "").length;
    source.focus();
    source.setSelectionRange(start, end);
    var height = source.scrollHeight / Math.max(lines.length, 1);
    source.scrollTop = Math.max(0, (line - 3) * height);
  }

  function checked(result) {
    var failed = !!result.problem;
    box.className = failed ? "problem" : "fine";
    text.textContent = (failed ? "\u2717 " : "\u2713 ") + (result.problem_text || "");
    source.setAttribute("aria-invalid", failed ? "true" : "false");
    var line = failed && result.problem.line ? result.problem.line : null;
    goto.hidden = !line;
    goto.setAttribute("data-line", line ? String(line) : "");
    if (line) { goto.textContent = goto.getAttribute("data-label").replace("{line}", line); }
    if (!failed && flash && flash.classList.contains("problem")) { flash.hidden = true; }
  }

  goto.addEventListener("click", function () {
    var line = parseInt(goto.getAttribute("data-line"), 10);
    if (line > 0) { showLine(line); }
  });
  window.ARPreview.live(form, form.getAttribute("data-check"), 400, checked);
})();
