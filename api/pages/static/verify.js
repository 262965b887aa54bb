/* Progressive enhancement of the upload form: drag and drop, a size check before
   sending, and the result shown without reloading. Without this file the form
   posts and the server renders the same result. */
(function () {
  "use strict";
  var form = document.querySelector("form[data-upload]");
  if (!form || !window.fetch || !window.FormData || !window.DOMParser) return;
  var input = form.querySelector("input[type=file]");
  var zone = form.querySelector("[data-drop]");
  var error = document.getElementById("form-error");
  var result = document.getElementById("result");
  var button = form.querySelector("button");
  var max = Number(form.getAttribute("data-max-bytes")) || 0;

  function say(message) {
    error.textContent = message || "";
    error.hidden = !message;
  }
  form.querySelector("[data-drop-hint]").hidden = false;
  ["dragenter", "dragover"].forEach(function (name) {
    zone.addEventListener(name, function (ev) {
      ev.preventDefault();
      zone.classList.add("drop--over");
    });
  });
  ["dragleave", "drop"].forEach(function (name) {
    zone.addEventListener(name, function () { zone.classList.remove("drop--over"); });
  });
  zone.addEventListener("drop", function (ev) {
    ev.preventDefault();
    if (ev.dataTransfer && ev.dataTransfer.files.length) {
      input.files = ev.dataTransfer.files;
      say("");
    }
  });
  input.addEventListener("change", function () { say(""); });

  form.addEventListener("submit", function (ev) {
    var file = input.files && input.files[0];
    if (!file) return; /* the browser's own "required" message, or the server's */
    ev.preventDefault();
    if (max && file.size > max) {
      say(form.getAttribute("data-too-large"));
      input.focus();
      return;
    }
    var label = button.textContent;
    button.disabled = true;
    button.textContent = form.getAttribute("data-busy");
    fetch(form.action, { method: "POST", body: new FormData(form), credentials: "same-origin" })
      .then(function (response) { return response.text(); })
      .then(function (html) {
        var page = new DOMParser().parseFromString(html, "text/html");
        var fresh = page.getElementById("result");
        var freshError = page.getElementById("form-error");
        if (!fresh || !freshError) throw new Error("unexpected answer");
        /* Our own server-rendered, escaped markup; the live region announces it. */
        result.innerHTML = fresh.innerHTML;
        say(freshError.hidden ? "" : freshError.textContent);
        if (page.title) document.title = page.title;
        if (result.firstElementChild) result.scrollIntoView({ block: "start" });
      })
      .catch(function () { form.submit(); })
      .then(function () {
        button.disabled = false;
        button.textContent = label;
      });
  });
})();
