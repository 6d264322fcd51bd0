// Keyboard shortcuts for the agenda's day links: [ or k (previous day), ] or j (next day).
// The links work without this script; it only follows them from the keyboard.
(function () {
  "use strict";
  var keys = { "[": "prev", k: "prev", "]": "next", j: "next" };
  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey || event.defaultPrevented) return;
    var target = event.target;
    if (target && (target.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(target.tagName))) return;
    var rel = keys[event.key];
    if (!rel) return;
    var link = document.querySelector(".day-nav a[rel=" + rel + "]");
    if (link) {
      event.preventDefault();
      window.location.assign(link.href);
    }
  });
})();

// After a refused form the error summary takes the focus, so it is read out first (the page
// works without this: the summary is at the top).
document.addEventListener("DOMContentLoaded", function () {
  "use strict";
  var summary = document.getElementById("error-summary");
  if (summary) summary.focus();
});
