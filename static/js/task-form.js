/*
 * parboard — task-form.js: on a task's form (its own page, or the board's side panel), the criterion list
 * follows the chosen area: only that area's criteria are offered (the list is grouped by area, so without
 * JavaScript it still reads well, and the server refuses a criterion of another area).
 */
(function () {
  'use strict';

  function follow(select) {
    var area = document.getElementById(select.getAttribute('data-follows-area'));
    if (!area) { return; }
    var chosen = area.value;
    Array.prototype.forEach.call(select.querySelectorAll('optgroup[data-area]'), function (group) {
      var other = chosen !== '' && group.getAttribute('data-area') !== chosen;
      group.hidden = other;
      group.disabled = other;
    });
    var selected = select.options[select.selectedIndex];
    if (selected && selected.parentElement.disabled) { select.value = ''; }
  }

  function followAll(root) {
    Array.prototype.forEach.call((root || document).querySelectorAll('select[data-follows-area]'), follow);
  }

  function init() {
    followAll(document);
    document.addEventListener('change', function (e) {
      if (!e.target.id) { return; }
      Array.prototype.forEach.call(
        document.querySelectorAll('select[data-follows-area="' + e.target.id + '"]'), follow);
    });
    document.body.addEventListener('htmx:load', function (e) { followAll(e.target); });
  }

  if (document.readyState === 'loading') {
    document.addEventListener('DOMContentLoaded', init);
  } else {
    init();
  }
})();
