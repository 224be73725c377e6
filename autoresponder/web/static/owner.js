/* Out-of-office page: live preview of the reply and the local-time notes beside the dates,
   refreshed as the owner types (debounced). */
"use strict";
(function () {
  var form = document.getElementById("away-form");
  if (!form || !window.ARPreview) { return; }
  var endpoint = form.getAttribute("data-preview");
  var sample = document.getElementById("sample_sender");

  function notes(result) {
    ["start", "end"].forEach(function (key) {
      var el = document.getElementById(key + "-note");
      if (el && result.notes) { el.textContent = result.notes[key] || ""; }
    });
  }

  var soon = window.ARPreview.live(form, endpoint, 300, notes);
  if (sample) { sample.addEventListener("input", soon); }
})();
