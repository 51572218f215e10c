// Feedback where the action was: move focus to the message beside the section whose form was used, so it is in
// view and screen readers read it. Pages work without this: the redirect's fragment already scrolls there.
// On "load", after the browser has scrolled to the fragment (which would otherwise reset the focus).
window.addEventListener("load", function () {
  var feedback = document.querySelector("[data-feedback]");
  if (feedback) {
    feedback.focus();
  }
});
