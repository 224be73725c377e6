/* The live preview shared by both pages: post the form, show the reply that comes back.
   No framework, no build step; loaded as an external file (the pages' CSP allows no inline
   script). */
"use strict";
(function () {
  function byId(id) { return document.getElementById(id); }

  function show(result) {
    var error = byId("preview-error");
    var headers = byId("preview-headers");
    var text = byId("preview-text");
    var frame = byId("preview-html");
    var source = byId("preview-html-source");
    var noHtml = byId("preview-no-html");
    if (result.error) {
      error.textContent = result.error;
      error.hidden = false;
    } else {
      error.hidden = true;
      error.textContent = "";
    }
    if (!result.headers) { return; }
    headers.textContent = "";
    result.headers.forEach(function (pair) {
      var dt = document.createElement("dt");
      dt.textContent = pair[0];
      var dd = document.createElement("dd");
      dd.textContent = pair[1];
      headers.appendChild(dt);
      headers.appendChild(dd);
    });
    text.textContent = result.text || "";
    if (result.html) {
      /* a fresh frame each time: Chromium leaves a frame that was hidden (or emptied)
         before unpainted when given a new srcdoc */
      var fresh = frame.cloneNode(false);
      fresh.hidden = false;
      fresh.srcdoc = result.html;   /* sandboxed: no script runs in it */
      frame.replaceWith(fresh);
      source.textContent = result.html;
      noHtml.hidden = true;
    } else {
      frame.hidden = true;
      frame.srcdoc = "";
      source.textContent = "";
      noHtml.hidden = false;
    }
  }

  /* Post `form` to `endpoint` after `delay` ms of quiet; `done(result)` gets the JSON.
     Only the newest answer is shown (older requests are aborted). */
  function live(form, endpoint, delay, done) {
    var timer = null, controller = null, serial = 0;
    var state = byId("preview-state");
    var csrf = form.querySelector("input[name=csrf]").value;

    function run() {
      var mine = ++serial;
      if (controller) { controller.abort(); }
      controller = new AbortController();
      state.textContent = state.getAttribute("data-updating");
      var body = new URLSearchParams(new FormData(form));
      fetch(endpoint, {
        method: "POST", body: body, signal: controller.signal, credentials: "same-origin",
        headers: {"X-CSRF-Token": csrf, "Accept": "application/json"}
      }).then(function (r) { return r.json(); }).then(function (result) {
        if (mine !== serial) { return; }
        state.textContent = "";
        show(result);
        if (done) { done(result); }
        form.setAttribute("data-previewed", String(mine));
      }).catch(function (e) {
        if (e.name !== "AbortError") { state.textContent = String(e); }
      });
    }

    function soon() {
      if (timer) { clearTimeout(timer); }
      timer = setTimeout(run, delay);
    }
    form.addEventListener("input", soon);
    form.addEventListener("change", soon);
    run();
    return soon;
  }

  window.ARPreview = {show: show, live: live};
})();
