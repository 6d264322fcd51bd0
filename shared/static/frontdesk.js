// Progressive enhancement only: every page works without this file.
(function () {
  "use strict";

  // Pre-fill the client's time zone, detected in the browser, where a form asks for it.
  function fillTimeZone() {
    var zone;
    try { zone = Intl.DateTimeFormat().resolvedOptions().timeZone; } catch (e) { return; }
    if (!zone) return;
    document.querySelectorAll("[data-detect-tz]").forEach(function (field) {
      if (field.dataset.userSet === "1" || field.value === zone) return;
      if (field.tagName === "SELECT" && !Array.prototype.some.call(field.options, function (o) { return o.value === zone; })) {
        var option = document.createElement("option");
        option.value = zone; option.textContent = zone;
        field.appendChild(option);
      }
      if (!field.dataset.serverChosen) field.value = zone;
    });
  }

  // A drawn signature (optional): pointer events for mouse, pen and touch; typing is always enough.
  // The pad is white with dark ink in both colour schemes, so the PNG reads well on the paper record.
  function signaturePad(canvas) {
    var input = document.getElementById(canvas.dataset.target);
    var clear = document.getElementById(canvas.dataset.clear);
    var block = canvas.closest(".signature-block");
    var ctx = canvas.getContext("2d");
    var drawing = false, drawn = false;
    // Shown first: a hidden canvas measures 0 x 0.
    if (block) block.hidden = false;
    canvas.hidden = false;
    if (clear) clear.hidden = false;
    function resize() {
      var ratio = window.devicePixelRatio || 1;
      canvas.width = canvas.clientWidth * ratio; canvas.height = canvas.clientHeight * ratio;
      ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
      ctx.lineWidth = 2.5; ctx.lineCap = "round"; ctx.lineJoin = "round"; ctx.strokeStyle = "#111111";
    }
    function point(event) {
      var box = canvas.getBoundingClientRect();
      return { x: event.clientX - box.left, y: event.clientY - box.top };
    }
    canvas.addEventListener("pointerdown", function (event) {
      event.preventDefault();
      drawing = true; canvas.setPointerCapture(event.pointerId);
      var p = point(event); ctx.beginPath(); ctx.moveTo(p.x, p.y);
    });
    canvas.addEventListener("pointermove", function (event) {
      if (!drawing) return;
      var p = point(event); ctx.lineTo(p.x, p.y); ctx.stroke(); drawn = true;
    });
    function finish() {
      if (!drawing) return;
      drawing = false;
      if (drawn && input) input.value = canvas.toDataURL("image/png");
    }
    canvas.addEventListener("pointerup", finish);
    canvas.addEventListener("pointercancel", finish);
    if (clear) clear.addEventListener("click", function () {
      ctx.clearRect(0, 0, canvas.width, canvas.height); drawn = false; if (input) input.value = "";
    });
    resize();
    // A drawing kept after a form error is shown again, so the client need not redo it.
    if (input && input.value.indexOf("data:image/") === 0) {
      var kept = new Image();
      kept.onload = function () {
        ctx.drawImage(kept, 0, 0, canvas.clientWidth, canvas.clientHeight); drawn = true;
      };
      kept.src = input.value;
    }
  }

  document.addEventListener("DOMContentLoaded", function () {
    fillTimeZone();
    document.querySelectorAll("canvas.signature").forEach(signaturePad);
    var summary = document.getElementById("error-summary");
    if (summary) summary.focus();
    document.querySelectorAll("[data-detect-tz]").forEach(function (field) {
      field.addEventListener("change", function () { field.dataset.userSet = "1"; });
    });
  });
})();
