// Evidence uploads: a progress bar from htmx's upload progress, and files dropped onto a row's upload
// control. Without JavaScript the same form posts the files the plain way.
(function () {
  "use strict";
  if (window.parboardEvidence) return; // included by several fragments; wire the document once
  window.parboardEvidence = true;

  function progressOf(element) {
    var form = element && element.closest ? element.closest("form.evidence-upload") : null;
    return form ? form.querySelector("progress.evidence-progress") : null;
  }

  document.addEventListener("htmx:xhr:progress", function (event) {
    var bar = progressOf(event.target);
    var detail = event.detail || {};
    if (!bar || !detail.lengthComputable) return;
    bar.hidden = false;
    bar.value = Math.round((detail.loaded / detail.total) * 100);
  });

  document.addEventListener("htmx:beforeRequest", function (event) {
    var bar = progressOf(event.target);
    if (bar) { bar.hidden = false; bar.value = 0; }
  });

  // Refuse over-size files before sending them (the server refuses them anyway, while they stream).
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.matches || !form.matches("form.evidence-upload")) return;
    var input = form.querySelector("input[type=file]");
    var max = parseInt(form.getAttribute("data-max-bytes"), 10);
    var maxFiles = parseInt(form.getAttribute("data-max-files"), 10);
    var problem = "";
    if (input && input.files.length > maxFiles) {
      problem = "Mỗi lần tải lên tối đa " + maxFiles + " tệp.";
    }
    for (var i = 0; input && !problem && i < input.files.length; i++) {
      if (input.files[i].size > max) {
        problem = "Tệp “" + input.files[i].name + "” lớn hơn " + form.getAttribute("data-limit-text") + ": không tệp nào được gửi.";
      }
    }
    if (!problem) return;
    event.preventDefault();
    event.stopPropagation();
    var field = input.closest(".field");
    var note = field.querySelector(".field-error") || document.createElement("p");
    note.className = "field-error";
    note.setAttribute("role", "alert");
    note.textContent = problem;
    field.classList.add("has-error");
    field.appendChild(note);
  }, true);

  function dropZone(event) {
    return event.target && event.target.closest ? event.target.closest(".evidence-panel") : null;
  }

  ["dragenter", "dragover"].forEach(function (type) {
    document.addEventListener(type, function (event) {
      var zone = dropZone(event);
      if (!zone || !zone.querySelector("form.evidence-upload")) return;
      event.preventDefault();
      zone.classList.add("evidence-dragging");
    });
  });

  document.addEventListener("dragleave", function (event) {
    var zone = dropZone(event);
    if (zone && !zone.contains(event.relatedTarget)) zone.classList.remove("evidence-dragging");
  });

  document.addEventListener("drop", function (event) {
    var zone = dropZone(event);
    var form = zone ? zone.querySelector("form.evidence-upload") : null;
    if (!form || !event.dataTransfer || !event.dataTransfer.files.length) return;
    event.preventDefault();
    zone.classList.remove("evidence-dragging");
    var input = form.querySelector("input[type=file]");
    input.files = event.dataTransfer.files;
    if (form.requestSubmit) form.requestSubmit(); else form.submit();
  });
})();
