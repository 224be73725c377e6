/* Out-of-office page: live preview of the reply, the local-time notes beside every date, the
   zone the dates are read in, and what the preview stands for (when, which reply, whether
   the sample sender counts as a colleague or an outsider), refreshed as the owner types
   (debounced). */
"use strict";
(function () {
  var form = document.getElementById("away-form");
  if (!form || !window.ARPreview) { return; }
  var endpoint = form.getAttribute("data-preview");

  function text(id, value) {
    var el = document.getElementById(id);
    if (el) { el.textContent = value || ""; }
  }

  function update(result) {
    if (result.notes) {
      Object.keys(result.notes).forEach(function (key) {
        text(key + "-note", result.notes[key]);
      });
    }
    if (result.zone) { text("zone", result.zone); }
    text("preview-situation", result.situation);
  }

  var soon = window.ARPreview.live(form, endpoint, 300, update);
  /* the preview's own fields belong to the form (form="away-form") but sit outside it */
  ["sample_sender", "sample_to", "sample_when"].forEach(function (id) {
    var el = document.getElementById(id);
    if (el) {
      el.addEventListener("input", soon);
      el.addEventListener("change", soon);
    }
  });
})();
