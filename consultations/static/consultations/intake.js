// Autosave feedback for the intake form (htmx posts the whole form to the draft endpoint).
// A refused or failed autosave must be visible: the clinician then knows what is not kept.
(function () {
  "use strict";
  function status(text, cls) {
    var el = document.getElementById("autosave-status");
    if (!el) { return; }
    el.textContent = text;
    el.className = "small ms-auto " + cls;
  }
  document.addEventListener("htmx:beforeSwap", function (event) {
    if (!event.detail.elt || event.detail.elt.id !== "intake-form") { return; }
    var xhr = event.detail.xhr;
    if ((xhr.responseURL || "").indexOf("/accounts/login/") !== -1) {
      event.detail.shouldSwap = false;
      status("Session ended: your draft is kept up to the last “Draft saved”. Sign in again to continue.", "text-danger");
    } else if (xhr.status >= 400) {
      event.detail.shouldSwap = false;
      status("Not saved: " + (xhr.status === 409 ? xhr.responseText : "the server refused the draft."), "text-danger");
    }
  });
  document.addEventListener("htmx:sendError", function (event) {
    if (event.detail.elt && event.detail.elt.id === "intake-form") {
      status("Not saved: no connection. Keep this page open and try again.", "text-danger");
    }
  });
}());
