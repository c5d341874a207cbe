/*
 * parboard — app.js (plain ES2017, no framework, CSP-safe: no eval/inline).
 * 1. Adds the CSRF token from <meta name="csrf-token"> as header
 *    `x-csrftoken` on every htmx request (complements hx-headers on <body>).
 * 2. Elements with data-confirm="…" (a form, or its submit button) ask
 *    window.confirm() before the form is submitted; Cancel stops the submit.
 */
(function () {
  'use strict';

  function init() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    var token = meta ? meta.getAttribute('content') : '';
    if (token) {
      document.body.addEventListener('htmx:configRequest', function (e) {
        e.detail.headers['x-csrftoken'] = token;
      });
    }

    // Capture phase: runs before htmx's own submit listener on the form.
    document.addEventListener('submit', function (e) {
      var btn = e.submitter;
      var form = e.target;
      var msg = (btn && btn.getAttribute('data-confirm')) ||
        (form && form.getAttribute && form.getAttribute('data-confirm'));
      if (msg && !window.confirm(msg)) {
        e.preventDefault();
        e.stopImmediatePropagation();
      }
    }, true);
  }

  if (document.readyState === 'loading') {
    document.addEventListener('DOMContentLoaded', init);
  } else {
    init();
  }
})();
