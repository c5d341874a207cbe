/*
 * parboard — app.js (plain ES2017, no framework, CSP-safe: no eval/inline).
 * 1. Adds the CSRF token from <meta name="csrf-token"> as header
 *    `x-csrftoken` on every htmx request (complements hx-headers on <body>).
 * 2. Elements with data-confirm="…" (a form, or its submit button) ask
 *    window.confirm() before the form is submitted; Cancel stops the submit.
 * 3. An htmx request that fails without an answer to show (an error page, no
 *    connection) says so in Vietnamese next to what asked for it, never silently
 *    (the board's moves have their own handling in board.js).
 * 4. Forms marked data-warn-unsaved remember that something was typed in them
 *    until their htmx save succeeds (a 2xx answer; a refused save keeps it
 *    unsaved); leaving the page meanwhile (a link, a reload, closing the tab)
 *    asks first. Forms are known by id or action, so a row swapped in by htmx
 *    stays the same form.
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

  var UNSAVED = 'Có giá trị đã nhập nhưng chưa lưu. Rời trang này thì các giá trị đó sẽ mất. Vẫn rời trang?';
  var unsaved = {};
  var leaving = false;

  function trackedForm(elt) {
    var form = elt && elt.closest ? elt.closest('form[data-warn-unsaved]') : null;
    return form;
  }

  function formKey(form) {
    return form.id || form.getAttribute('hx-post') || form.getAttribute('action') || '';
  }

  function hasUnsaved() {
    return Object.keys(unsaved).length > 0;
  }

  function watchUnsaved() {
    function mark(e) {
      var form = trackedForm(e.target);
      if (form) { unsaved[formKey(form)] = true; }
    }
    document.addEventListener('input', mark);
    document.addEventListener('change', mark);

    // The form asked; once htmx swapped it out, the event reaches the body from a parent still in the
    // page, with detail.elt that parent: requestConfig.elt stays the form.
    document.body.addEventListener('htmx:afterRequest', function (e) {
      var elt = (e.detail.requestConfig && e.detail.requestConfig.elt) || e.detail.elt;
      var form = elt && elt.matches && elt.matches('form[data-warn-unsaved]') ? elt : null;
      if (form && e.detail.successful) { delete unsaved[formKey(form)]; }
    });

    // A form posted the ordinary way (not by htmx) is saved by leaving the page.
    document.addEventListener('submit', function (e) {
      if (e.defaultPrevented) { return; }
      var form = trackedForm(e.target);
      if (form) { delete unsaved[formKey(form)]; }
    });

    document.addEventListener('click', function (e) {
      if (!hasUnsaved() || leaving || e.defaultPrevented || e.button !== 0 ||
          e.ctrlKey || e.metaKey || e.shiftKey || e.altKey) { return; }
      var link = e.target.closest ? e.target.closest('a[href]') : null;
      if (!link || link.target === '_blank' || link.hasAttribute('download')) { return; }
      var url = new URL(link.href, window.location.href);
      if (url.hash && url.origin + url.pathname + url.search ===
          window.location.origin + window.location.pathname + window.location.search) { return; }
      if (window.confirm(UNSAVED)) {
        leaving = true;
      } else {
        e.preventDefault();
        e.stopImmediatePropagation();
      }
    });

    window.addEventListener('beforeunload', function (e) {
      if (leaving || !hasUnsaved()) { return; }
      e.preventDefault();
      e.returnValue = UNSAVED;  // older browsers need a value to ask at all
      return UNSAVED;
    });
    // Back from the browser's page cache: the page is as it was left, nothing decided yet.
    window.addEventListener('pageshow', function () { leaving = false; });
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

    watchUnsaved();

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
