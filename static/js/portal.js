// Quick exit for the parties' portal. The link works without JavaScript (it ends the session and goes to a
// neutral site); this only makes it replace the current history entry, and adds Esc-Esc as a shortcut. It also
// keeps a link's token out of the tab's history.
(function () {
  "use strict";
  function leave(url) {
    window.location.replace(url);
  }
  document.addEventListener("click", function (event) {
    var link = event.target.closest('[data-action="quick-exit"]');
    if (link) {
      event.preventDefault();
      leave(link.href);
    }
  });
  // A link's interstitial: its address holds the token. Keep the token out of the tab's history, so that Back
  // after a quick exit finds no link to continue from; the form still posts to the link itself.
  var path = window.location.pathname;
  if (/^\/p\/[^\/]+$/.test(path)) {
    Array.prototype.forEach.call(document.querySelectorAll("form"), function (form) {
      form.setAttribute("action", path);
    });
    window.history.replaceState(null, "", "/p/");
  }
  var lastEscape = 0;
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape") {
      return;
    }
    var now = Date.now();
    if (now - lastEscape < 1000) {
      var link = document.querySelector('[data-action="quick-exit"]');
      if (link) {
        leave(link.href);
      }
    }
    lastEscape = now;
  });
})();
