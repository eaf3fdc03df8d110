/* formguard: reply hints as the visitor leaves the email field.
 *
 * {% formguard_reply_hint form.email %} renders, around this script's work:
 *   <div data-fg-reply-hints data-fg-for="id_email" data-fg-data="{domains, carriers}">
 *     <div data-fg-hint-slot>(the hint for the value sent, when the form came back)</div>
 *     <template data-fg-template="carrier">…</template>
 *     <template data-fg-template="china">…</template>
 *   </div>
 * No inline script and no inline style: it runs under a Content-Security-Policy
 * without 'unsafe-inline'. The address never leaves the page.
 */
(function () {
  "use strict";

  function domainKey(address, domains) {
    var at = address.lastIndexOf("@");
    if (at < 0) {
      return "";
    }
    var labels = address.slice(at + 1).trim().replace(/\.$/, "").toLowerCase().split(".");
    // A subdomain of a listed domain counts as that domain (as on the server).
    for (var i = 0; i < labels.length - 1; i++) {
      var found = domains[labels.slice(i).join(".")];
      if (found) {
        return found;
      }
    }
    return "";
  }

  function setUp(box) {
    var input = document.getElementById(box.getAttribute("data-fg-for"));
    var slot = box.querySelector("[data-fg-hint-slot]");
    var data;
    try {
      data = JSON.parse(box.getAttribute("data-fg-data"));
    } catch (error) {
      return;
    }
    if (!input || !slot || !data) {
      return;
    }

    function show() {
      var key = domainKey(input.value, data.domains || {});
      if (slot.getAttribute("data-fg-shown") === key) {
        return;
      }
      slot.setAttribute("data-fg-shown", key);
      while (slot.firstChild) {
        slot.removeChild(slot.firstChild);
      }
      if (!key) {
        return;
      }
      var kind = key === "china" ? "china" : "carrier";
      var template = box.querySelector('template[data-fg-template="' + kind + '"]');
      if (!template) {
        return;
      }
      var hint = template.content.cloneNode(true);
      if (kind === "carrier") {
        var carrier = (data.carriers || {})[key] || {};
        Array.prototype.forEach.call(hint.querySelectorAll("[data-fg-carrier-name]"), function (element) {
          element.textContent = carrier.name || "";
        });
        Array.prototype.forEach.call(hint.querySelectorAll("a[data-fg-carrier-link]"), function (link) {
          link.setAttribute("href", carrier.url || "#");
        });
      }
      slot.appendChild(hint);
    }

    input.addEventListener("change", show);
    input.addEventListener("blur", show);
  }

  function start() {
    Array.prototype.forEach.call(document.querySelectorAll("[data-fg-reply-hints]"), setUp);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
