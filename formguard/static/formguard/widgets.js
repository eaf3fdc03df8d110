/* formguard's captcha widgets: every bootstrap in one static file, configured by
 * data- attributes, so that no page needs an inline <script> (a strict
 * Content-Security-Policy: script-src 'self' plus the provider's host).
 *
 * - ALTCHA (self-hosted): loads the vendored web component, its language
 *   file and its PBKDF2 worker from formguard's static files; a challenge
 *   that cannot be fetched does not keep the form from being sent.
 * - reCAPTCHA invisible and v3: get the token when the form is submitted,
 *   then submit again with form.requestSubmit(submitter), which runs the
 *   form's other submit handlers and keeps the pressed button's name=value
 *   (form.submit() skips both).
 */
(function () {
  "use strict";
  var script = document.currentScript;
  var data = (script && script.dataset) || {};

  if (data.fgAltcha && !window.formguardAltchaLoading) {
    window.formguardAltchaLoading = true;
    var worker = data.fgAltchaWorker;
    (data.fgAltchaI18n ? import(data.fgAltchaI18n) : Promise.resolve())
      .then(function () {
        return import(data.fgAltcha);
      })
      .then(function () {
        globalThis.$altcha.algorithms.set("PBKDF2/SHA-256", function () {
          return new Worker(worker);
        });
      });
    document.querySelectorAll('altcha-widget[data-fg-widget="altcha"]').forEach(function (widget) {
      // An expired solution is solved again, with a fresh challenge, when
      // the form is next submitted (the widget's auto="onsubmit").
      widget.addEventListener("expired", function () {
        widget.reset();
      });
      // The challenge is fetched only when the form is sent. Refused (the
      // form closed, or this address banned, while the visitor typed) or
      // unreachable, the widget would show an error and send nothing: the
      // text would be lost. Send the form anyway; formguard answers the POST
      // with its page (the reopening time or the ban, the other contacts and
      // everything typed), or shows the form again with a captcha error.
      var form = widget.closest("form");
      var submitter = null;
      if (form) {
        form.addEventListener("submit", function (event) {
          submitter = event.submitter || submitter;
        }, true);
        widget.addEventListener("statechange", function (event) {
          // (A form that formguard.bind() sends from script, fetch.js, sends without the solution itself.)
          if (!event.detail || event.detail.state !== "error" || form.dataset.fgSentAnyway || form.dataset.fgFetch) {
            return;
          }
          form.dataset.fgSentAnyway = "1";
          // In the error state the widget lets the submit through.
          submitAgain(form, submitter);
        });
      }
    });
  }

  if (window.formguardWidgets) {
    return;
  }
  window.formguardWidgets = true;

  function submitAgain(form, submitter) {
    // Later, not from inside the first submit event: a form ignores
    // requestSubmit() while it is still firing that event.
    window.setTimeout(function () {
      if (typeof form.requestSubmit === "function") {
        form.requestSubmit(submitter || null);
      } else if (submitter) {
        submitter.click();
      } else {
        form.submit();
      }
    }, 0);
  }

  // reCAPTCHA v2 invisible: grecaptcha calls this global (data-callback).
  var pending = null;
  window.formguardRecaptchaDone = function () {
    if (pending) {
      var next = pending;
      pending = null;
      submitAgain(next.form, next.submitter);
    }
  };

  function onReady(callback) {
    if (document.readyState === "loading") {
      document.addEventListener("DOMContentLoaded", callback);
    } else {
      callback();
    }
  }

  onReady(function () {
    document.querySelectorAll('[data-fg-widget="recaptcha-invisible"]').forEach(function (box) {
      var form = box.closest("form");
      form.addEventListener("submit", function (event) {
        var field = form.querySelector("[name=g-recaptcha-response]");
        if (field && field.value) {
          return;
        }
        event.preventDefault();
        pending = { form: form, submitter: event.submitter };
        window.grecaptcha.execute();
      });
    });

    document.querySelectorAll('[data-fg-widget="recaptcha-v3"]').forEach(function (field) {
      var form = field.form;
      form.addEventListener("submit", function (event) {
        if (field.value) {
          return;
        }
        event.preventDefault();
        var submitter = event.submitter;
        window.grecaptcha.ready(function () {
          window.grecaptcha.execute(field.dataset.sitekey, { action: field.dataset.action }).then(function (token) {
            field.value = token;
            submitAgain(form, submitter);
          });
        });
      });
    });
  });
})();
