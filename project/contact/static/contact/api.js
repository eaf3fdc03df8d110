/* The demo's /contact/api/ page: its form sent as JSON with formguard.submit()
 * (formguard/fetch.js), the answer shown in the page; the typed text stays in
 * the form whatever the answer. */
(function () {
  "use strict";
  var form = document.getElementById("contact-form");
  var box = document.getElementById("contact-result");
  if (!form || !box || !window.formguard) {
    return;
  }

  function show(result) {
    box.textContent = "";
    box.className = result.ok ? "sent" : "refused";
    var answer = result.problem || result.data || {};
    var heading = document.createElement("strong");
    heading.textContent = result.ok ? answer.message || "" : answer.title || form.dataset.failed;
    box.appendChild(heading);
    if (!result.ok && answer.detail) {
      var detail = document.createElement("p");
      detail.textContent = answer.detail;
      box.appendChild(detail);
    }
    (answer.contacts || []).forEach(function (contact) {
      var line = document.createElement("p");
      line.className = "contact-way";
      line.textContent = (contact.label ? contact.label + ": " : "") + (contact.value || "");
      box.appendChild(line);
    });
    box.dataset.status = String(result.status);
    box.dataset.code = answer.code || "";
    box.dataset.retryAfter = result.retryAfter == null ? "" : String(result.retryAfter);
    if (result.ok) {
      form.reset();
    }
  }

  formguard.bind(form, function (result) {
    show(result);
  });
  form.addEventListener("submit", function () {
    box.className = "sending";
    box.textContent = form.dataset.sending;
  });
})();
