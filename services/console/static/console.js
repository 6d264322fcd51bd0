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

// My availability: "Add interval" adds an empty row to a day's form (without this script each
// day already has one empty row, and saving gives another).
(function () {
  "use strict";
  var forms = document.querySelectorAll("form.day-hours");
  Array.prototype.forEach.call(forms, function (form) {
    var button = form.querySelector(".add-interval");
    var list = form.querySelector(".intervals");
    if (!button || !list) return;
    button.hidden = false;
    button.addEventListener("click", function () {
      var rows = list.querySelectorAll("li.interval");
      var row = rows[rows.length - 1].cloneNode(true);
      var index = rows.length;
      var prefix = form.id + "-" + index;
      Array.prototype.forEach.call(row.querySelectorAll(".error, .remove-row"), function (node) {
        node.parentNode.removeChild(node);
      });
      Array.prototype.forEach.call(row.querySelectorAll(".has-error"), function (node) {
        node.classList.remove("has-error");
      });
      Array.prototype.forEach.call(row.querySelectorAll("input"), function (input) {
        var id = prefix + "-" + input.name;
        var label = row.querySelector("label[for='" + input.id + "']");
        if (label) label.htmlFor = id;
        input.id = id;
        input.value = "";
        input.removeAttribute("aria-invalid");
        input.removeAttribute("aria-describedby");
      });
      list.appendChild(row);
      row.querySelector("input").focus();
    });
  });
})();

// After a refused form the error summary takes the focus, so it is read out first (the page
// works without this: the summary is at the top).
document.addEventListener("DOMContentLoaded", function () {
  "use strict";
  var summary = document.getElementById("error-summary");
  if (summary) summary.focus();
});
