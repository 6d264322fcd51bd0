// Starts the API docs viewer of the page (Swagger UI or ReDoc) on the service's OpenAPI
// document. A file, not an inline script, so the page's CSP needs no 'unsafe-inline' script.
(function () {
  "use strict";
  var root = document.querySelector("[data-viewer]");
  if (!root) return;
  var specUrl = root.dataset.specUrl;

  // What the viewers' own markup leaves out for WCAG 2.2 AA, added as they render (their
  // bundles are vendored untouched): a name for each unnamed <select>, and a tab stop on each
  // region that scrolls, so keyboard users can scroll it.
  function selectName(select) {
    // ReDoc writes the dropdown's caption ("Example") just before the dropdown's box.
    var caption = select.parentElement && select.parentElement.previousElementSibling;
    if (caption && caption.textContent.trim()) return caption.textContent.trim();
    if (select.id === "servers") return "Server";
    var values = Array.prototype.map.call(select.options, function (option) {
      return option.value;
    });
    return values.length && values.every(function (value) { return value.indexOf("/") > 0; })
      ? "Media type"
      : "Choose an option";
  }

  function scrolls(element) {
    var style = window.getComputedStyle(element);
    return /auto|scroll/.test(style.overflowX + style.overflowY);
  }

  function each(tree, selector, action) {
    if (tree.matches(selector)) action(tree);
    tree.querySelectorAll(selector).forEach(action);
  }

  function mend(tree) {
    each(tree, "select:not([aria-label]):not([aria-labelledby])", function (select) {
      // Swagger UI wraps its server list in a <label> with no text of its own.
      var label = select.labels && select.labels[0];
      var own = label ? label.textContent.replace(select.textContent, "").trim() : "";
      if (!own) select.setAttribute("aria-label", selectName(select));
    });
    each(tree, "div:not([tabindex]), pre:not([tabindex])", function (element) {
      if (scrolls(element)) element.setAttribute("tabindex", "0");
    });
  }

  new MutationObserver(function (changes) {
    changes.forEach(function (change) {
      change.addedNodes.forEach(function (node) {
        if (node.nodeType === Node.ELEMENT_NODE) mend(node);
      });
    });
  }).observe(root, { childList: true, subtree: true });

  if (root.dataset.viewer === "swagger-ui") {
    // No deep links: Swagger UI puts them inside each operation's toggle button (a link
    // nested in a button, and a target smaller than 24 px).
    window.ui = window.SwaggerUIBundle({
      url: specUrl,
      domNode: root,
      deepLinking: false,
      // The default theme (agate) writes numbers in #d36363 on #333 (3.45:1, under AA);
      // obsidian keeps the dark samples with every colour above 4.5:1.
      syntaxHighlight: { theme: "obsidian" },
    });
  } else if (root.dataset.viewer === "redoc") {
    window.Redoc.init(specUrl, {}, root);
  }
})();
