/*
 * parboard — app.js (plain ES2017, no framework, CSP-safe: no eval/inline).
 * 1. Adds the CSRF token from <meta name="csrf-token"> as header
 *    `x-csrftoken` on every htmx request (complements hx-headers on <body>).
 * 2. Elements with data-confirm="…" (a form, or its submit button) ask
 *    window.confirm() before the form is submitted; Cancel stops the submit.
 * 3. An htmx request that fails without an answer to show (an error page, no
 *    connection) says so in Vietnamese next to what asked for it, never silently
 *    (the board's moves have their own handling in board.js).
 */
(function () {
  'use strict';

  var FAILURES = {
    0: 'Không kết nối được máy chủ: chưa lưu được. Vui lòng kiểm tra mạng và thử lại.',
    401: 'Phiên đăng nhập đã hết: vui lòng đăng nhập lại rồi thử lại.',
    403: 'Bạn không có quyền thực hiện thao tác này.',
    404: 'Không tìm thấy nội dung này (có thể đã bị xoá). Vui lòng tải lại trang.',
    409: 'Nội dung vừa được người khác thay đổi. Vui lòng tải lại trang.',
    413: 'Dữ liệu gửi lên quá lớn.'
  };

  function failureText(status) {
    return FAILURES[status] ||
      (status >= 500 ? 'Hệ thống gặp sự cố (mã ' + status + '): chưa lưu được. Vui lòng thử lại.'
        : 'Yêu cầu không thực hiện được (mã ' + status + '). Vui lòng tải lại trang.');
  }

  function onFailure(e) {
    var elt = e.detail.elt;
    if (!elt || !elt.isConnected || (elt.matches && elt.matches('#move-form, .move-form'))) { return; }
    var note = elt.querySelector(':scope > .htmx-failure');
    if (!note) {
      note = document.createElement('p');
      note.className = 'field-error htmx-failure';
      note.setAttribute('role', 'alert');
      elt.appendChild(note);
    }
    note.textContent = failureText(e.detail.xhr ? e.detail.xhr.status : 0);
  }

  function init() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    var token = meta ? meta.getAttribute('content') : '';
    if (token) {
      document.body.addEventListener('htmx:configRequest', function (e) {
        e.detail.headers['x-csrftoken'] = token;
      });
    }

    document.body.addEventListener('htmx:responseError', onFailure);
    document.body.addEventListener('htmx:sendError', onFailure);
    document.body.addEventListener('htmx:afterRequest', function (e) {
      var elt = e.detail.elt;
      var note = e.detail.successful && elt && elt.querySelector && elt.querySelector(':scope > .htmx-failure');
      if (note) { note.remove(); }
    });

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
