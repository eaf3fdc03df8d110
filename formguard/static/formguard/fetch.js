/* formguard.submit(): send a guarded form from the page's own script, as JSON.
 *
 *   formguard.submit(form)                 // the form's fields, to form.action
 *   formguard.submit(form, {extra: "1"})   // plus (or instead of) some fields
 *   formguard.submit("/contact/api/", {name: "…", message: "…"})
 *     .then(function (result) { ... });
 *
 * Adds what formguard checks: the self-hosted captcha's solution (the ALTCHA
 * widget is asked to solve first, when it has not), the bot traps' fields
 * (the honeypot and the time token formguard's field renders) and Django's
 * CSRF token (sent as X-CSRFToken); posts one JSON object; resolves with
 *
 *   {ok: true,  status: 200, data: <what the endpoint answered>}
 *   {ok: false, status: 429, retryAfter: 600, problem: <RFC 9457 problem details>, data: <same>}
 *
 * A refusal's problem carries title, detail (in the visitor's language),
 * code, retry_after, contacts and fields (what was sent, to keep). With a
 * URL instead of a form, the traps, the solution and the token are taken
 * from the page's first form that carries formguard's field.
 *
 * formguard.bind(form, callback): the same on every submit of the form
 * (the browser's own submit is prevented), callback(result).
 *
 * No dependency, no inline script: load it with <script src=… defer>.
 */
(function () {
  "use strict";
  var TRAPS = ["fg_blank", "fg_issued"];
  var SOLUTION = "altcha";

  function carrier() {
    var field = document.querySelector('[name="' + TRAPS[1] + '"], [name="' + TRAPS[0] + '"], altcha-widget');
    return field ? field.closest("form") : null;
  }

  function solve(form, waited) {
    var widget = form && form.querySelector('altcha-widget[data-fg-widget="altcha"]');
    if (!widget) {
      return Promise.resolve("");
    }
    if (typeof widget.verify !== "function") {
      // The widget's script (loaded by widgets.js) is not there yet: wait for it a while,
      // then send without (formguard answers with the captcha's problem).
      if (waited || !window.customElements) {
        return Promise.resolve("");
      }
      return Promise.race([
        window.customElements.whenDefined("altcha-widget"),
        new Promise(function (resolve) {
          window.setTimeout(resolve, 10000);
        }),
      ]).then(function () {
        return solve(form, true);
      });
    }
    var field = form.querySelector('input[name="' + SOLUTION + '"]');
    if (field && field.value) {
      return Promise.resolve(field.value);
    }
    return new Promise(function (resolve) {
      var done = false;
      function finish(value) {
        if (!done) {
          done = true;
          resolve(value || "");
        }
      }
      widget.addEventListener("verified", function (event) {
        finish(event.detail && event.detail.payload);
      }, { once: true });
      // A challenge that cannot be fetched (the form closed, the address
      // banned) or solved: send without; formguard answers with its problem.
      widget.addEventListener("statechange", function (event) {
        if (event.detail && event.detail.state === "error") {
          finish("");
        }
      });
      Promise.resolve(widget.verify()).then(function () {
        var after = form.querySelector('input[name="' + SOLUTION + '"]');
        finish(after && after.value);
      }, function () {
        finish("");
      });
    });
  }

  function fieldsOf(form) {
    var fields = {};
    if (!form) {
      return fields;
    }
    new FormData(form).forEach(function (value, name) {
      if (typeof value !== "string" || name === "csrfmiddlewaretoken") {
        return;
      }
      if (Object.prototype.hasOwnProperty.call(fields, name)) {
        fields[name] = [].concat(fields[name], value);
      } else {
        fields[name] = value;
      }
    });
    return fields;
  }

  function csrfToken(form) {
    var field = (form || document).querySelector('[name="csrfmiddlewaretoken"]');
    if (field && field.value) {
      return field.value;
    }
    var match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
    return match ? decodeURIComponent(match[1]) : "";
  }

  function submit(target, data) {
    var form = typeof target === "string" ? carrier() : target;
    var url = typeof target === "string" ? target : form.getAttribute("action") || window.location.pathname;
    return solve(form).then(function (solution) {
      var own = fieldsOf(form);
      var body = {};
      if (typeof target === "string") {
        // Only formguard's own fields from the page's form: the data is the caller's.
        TRAPS.forEach(function (name) {
          if (name in own) {
            body[name] = own[name];
          }
        });
      } else {
        body = own;
      }
      Object.keys(data || {}).forEach(function (name) {
        body[name] = data[name];
      });
      if (solution) {
        body[SOLUTION] = solution;
      }
      return fetch(url, {
        method: "POST",
        credentials: "same-origin",
        headers: {
          "Content-Type": "application/json",
          Accept: "application/json, application/problem+json",
          "X-CSRFToken": csrfToken(form),
        },
        body: JSON.stringify(body),
      }).then(function (response) {
        var type = response.headers.get("Content-Type") || "";
        var read = type.indexOf("json") >= 0 ? response.json() : Promise.resolve(null);
        return read.then(function (answer) {
          var result = { ok: response.ok, status: response.status, data: answer };
          if (!response.ok) {
            var wait = parseInt(response.headers.get("Retry-After") || "", 10);
            result.retryAfter = isNaN(wait) ? null : wait;
            result.problem = type.indexOf("application/problem+json") === 0 ? answer : null;
          }
          if (form) {
            // A solution is good once: the next send solves a fresh challenge.
            var widget = form.querySelector('altcha-widget[data-fg-widget="altcha"]');
            if (widget && typeof widget.reset === "function") {
              widget.reset();
            }
          }
          return result;
        });
      });
    });
  }

  function bind(form, callback) {
    // widgets.js leaves this form's sending to us, even when the challenge cannot be fetched.
    form.dataset.fgFetch = "1";
    var widget = form.querySelector('altcha-widget[data-fg-widget="altcha"]');
    if (widget) {
      // formguard.submit() asks the widget to solve; it must not also
      // intercept the submit and send the form again itself.
      widget.setAttribute("auto", "off");
    }
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      submit(form).then(callback, function (error) {
        callback({ ok: false, status: 0, error: error, data: null, problem: null });
      });
    });
  }

  window.formguard = Object.assign(window.formguard || {}, { submit: submit, bind: bind });
})();
