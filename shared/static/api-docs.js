// Starts the API docs viewer of the page (Swagger UI or ReDoc) on the service's OpenAPI
// document. A file, not an inline script, so the page's CSP needs no 'unsafe-inline' script.
(function () {
  "use strict";
  var root = document.querySelector("[data-viewer]");
  if (!root) return;
  var specUrl = root.dataset.specUrl;
  if (root.dataset.viewer === "swagger-ui") {
    window.ui = window.SwaggerUIBundle({ url: specUrl, domNode: root, deepLinking: true });
  } else if (root.dataset.viewer === "redoc") {
    window.Redoc.init(specUrl, {}, root);
  }
})();
