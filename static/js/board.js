/*
 * parboard — board.js: drag and drop on the remedy board (SortableJS), persisted through the page's
 * hidden move form, which htmx posts (hx-sync queues a person's quick moves one after another).
 * Without JavaScript every card keeps its "Di chuyển" form; with it, cards can also be moved from the
 * keyboard: focus a card, Alt+←/→ moves it to the previous/next column, Alt+↑/↓ up/down in its cell.
 */
(function () {
  'use strict';

  function form() { return document.getElementById('move-form'); }

  function submitMove(card, cell, place) {
    var f = form();
    if (!f || !window.htmx) { return; }
    f.elements.task.value = card.getAttribute('data-task');
    f.elements.version.value = card.getAttribute('data-version');
    f.elements.column.value = cell.getAttribute('data-column');
    f.elements.area.value = cell.getAttribute('data-area');
    f.elements.place.value = place;
    window.htmx.trigger(f, 'submit');
  }

  function placeOf(card) {
    var next = card.nextElementSibling;
    while (next && !next.classList.contains('card')) { next = next.nextElementSibling; }
    return next ? 'before:' + next.getAttribute('data-task') : 'end';
  }

  function initCells(root) {
    if (!window.Sortable) { return; }
    var cells = (root || document).querySelectorAll('.board-cell');
    Array.prototype.forEach.call(cells, function (cell) {
      if (cell._sortable) { return; }
      cell._sortable = window.Sortable.create(cell, {
        group: 'board',
        draggable: '.card',
        filter: '.is-locked, details, select, button, input, a',
        preventOnFilter: false,
        animation: 120,
        onEnd: function (evt) {
          if (evt.from === evt.to && evt.oldIndex === evt.newIndex) { return; }
          submitMove(evt.item, evt.to, placeOf(evt.item));
        }
      });
    });
  }

  function cellsOfLane(cell) {
    var lane = cell.closest('.lane');
    return lane ? Array.prototype.slice.call(lane.querySelectorAll('.board-cell')) : [];
  }

  function onKey(e) {
    if (!e.altKey) { return; }
    var card = e.target.closest && e.target.closest('.card');
    if (!card || card.classList.contains('is-locked') || e.target !== card) { return; }
    var cell = card.closest('.board-cell');
    if (e.key === 'ArrowLeft' || e.key === 'ArrowRight') {
      // even in the first or last column: Alt+←/→ left alone is the browser's Back/Forward
      e.preventDefault();
      var cells = cellsOfLane(cell);
      var target = cells[cells.indexOf(cell) + (e.key === 'ArrowLeft' ? -1 : 1)];
      if (!target) { return; }
      window.__movedCard = card.id;
      submitMove(card, target, 'end');
    } else if (e.key === 'ArrowUp' || e.key === 'ArrowDown') {
      e.preventDefault();
      window.__movedCard = card.id;
      submitMove(card, cell, e.key === 'ArrowUp' ? 'up' : 'down');
    }
  }

  function isMove(elt) {
    return !!(elt && elt.matches && elt.matches('#move-form, .move-form'));
  }

  // A move the server refuses for want of a right (403) is answered like a conflict (409) or a bad move
  // (422): an alert and the board as it is, which puts a dragged card back; htmx swaps no 4xx by itself.
  // Only that answer (it carries the board out of band), not an error page.
  function onBeforeSwap(e) {
    var xhr = e.detail.xhr;
    if (xhr.status === 403 && isMove(e.detail.requestConfig && e.detail.requestConfig.elt) &&
        xhr.responseText.indexOf('id="board"') !== -1 && xhr.responseText.indexOf('hx-swap-oob') !== -1) {
      e.detail.shouldSwap = true;
      e.detail.isError = false;
    }
  }

  // Any other failure of a move (no answer, an error page): say so, and show the board as saved, so no card
  // stays where it was dropped.
  function onMoveFailed(e) {
    var elt = e.detail.requestConfig ? e.detail.requestConfig.elt : e.detail.elt;
    if (!isMove(elt)) { return; }
    var status = e.detail.xhr ? e.detail.xhr.status : 0;
    var text = status === 403 ? 'Chưa chuyển được thẻ: bạn không có quyền chuyển thẻ này.' :
      status ? 'Chưa chuyển được thẻ (máy chủ trả lời mã ' + status + ').' :
        'Chưa chuyển được thẻ: không kết nối được máy chủ.';
    var box = document.getElementById('board-messages');
    if (box) {
      var alert = document.createElement('div');
      alert.className = 'alert alert-error';
      alert.setAttribute('role', 'alert');
      alert.textContent = text + ' Bảng dưới đây là bảng đã lưu; vui lòng thử lại.';
      box.replaceChildren(alert);
    }
    window.htmx.ajax('GET', window.location.pathname + window.location.search,
      { target: '#board', swap: 'outerHTML', select: '#board' });
  }

  function init() {
    initCells(document);
    document.addEventListener('keydown', onKey);
    document.body.addEventListener('htmx:beforeSwap', onBeforeSwap);
    document.body.addEventListener('htmx:responseError', onMoveFailed);
    document.body.addEventListener('htmx:sendError', onMoveFailed);
    // A card's "Di chuyển" form: once its cell is swapped, the focus goes back to the moved card
    // (capture phase: before htmx's own submit listener).
    document.addEventListener('submit', function (e) {
      var card = e.target.closest && e.target.closest('.card-move') && e.target.closest('.card');
      if (card) { window.__movedCard = card.id; }
    }, true);
    document.body.addEventListener('htmx:afterSettle', function () {
      initCells(document);
      if (window.__movedCard) {
        var moved = document.getElementById(window.__movedCard);
        window.__movedCard = null;
        if (moved) { moved.focus(); }
      }
    });
  }

  if (document.readyState === 'loading') {
    document.addEventListener('DOMContentLoaded', init);
  } else {
    init();
  }
})();
