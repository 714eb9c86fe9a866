// creditscore web pages: the little behaviour htmx does not give. Everything works without it (plain forms).
// No inline script anywhere: the pages' Content-Security-Policy allows scripts from this site only.
(function () {
  "use strict";
  // Upload progress: htmx reports the request body's progress; show it on the form's <progress>.
  document.addEventListener("htmx:xhr:progress", function (event) {
    var form = event.target.closest ? event.target.closest("form") : null;
    var bar = form && form.querySelector("progress[data-upload]");
    if (!bar || !event.detail.lengthComputable) return;
    bar.hidden = false;
    bar.max = event.detail.total;
    bar.value = event.detail.loaded;
    var label = form.querySelector("[data-upload-label]");
    if (label) label.textContent = Math.round(100 * event.detail.loaded / event.detail.total) + "%";
  });
})();
