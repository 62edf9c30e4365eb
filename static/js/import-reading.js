// The page of an upload being read: ask the server every few seconds whether the file is
// read, and show the preview (or the reason it could not be read) when it is. Without
// JavaScript the page's "Check again" link does the same by hand.
(function () {
  "use strict";
  var page = document.querySelector("[data-import-status]");
  if (!page) {
    return;
  }
  var url = page.getAttribute("data-import-status");
  var every = 1000 * Number(page.getAttribute("data-refresh") || "2");
  var progress = document.getElementById("reading-progress");
  var started = Date.now();

  function check() {
    fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then(function (response) {
        return response.ok ? response.json() : { status: "gone" };
      })
      .then(function (answer) {
        if (answer.status === "reading") {
          if (progress) {
            var seconds = Math.round((Date.now() - started) / 1000);
            progress.textContent = "Still reading (" + seconds + " seconds so far).";
          }
          window.setTimeout(check, every);
        } else {
          window.location.reload();
        }
      })
      .catch(function () {
        window.setTimeout(check, every * 2);
      });
  }
  window.setTimeout(check, every);
})();
