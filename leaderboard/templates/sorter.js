(function () {
  "use strict";
  // Sortable tables: click a header to sort by its column; click again to reverse. Cells carry
  // data-sort (a number, or "" for no value: always last); other cells sort by their text.
  // A link to #sort=TABLE_ID:COLUMN:asc|desc opens the page with that table sorted.
  function key(cell) {
    var v = cell.getAttribute("data-sort");
    if (v === null) { return cell.textContent.trim().toLowerCase(); }
    if (v === "") { return null; }
    var n = Number(v);
    return isNaN(n) ? v : n;
  }
  function sortTable(table, col, dir) {
    var body = table.tBodies[0];
    var rows = Array.prototype.slice.call(body.rows);
    rows.sort(function (a, b) {
      var x = key(a.cells[col]), y = key(b.cells[col]);
      if (x === null || y === null) { return (x === null) - (y === null); }
      var c = (typeof x === "number" && typeof y === "number") ? x - y : String(x).localeCompare(String(y));
      return dir === "asc" ? c : -c;
    });
    rows.forEach(function (r) { body.appendChild(r); });
    var ths = table.tHead.rows[0].cells;
    for (var i = 0; i < ths.length; i++) {
      ths[i].setAttribute("aria-sort", i === col ? (dir === "asc" ? "ascending" : "descending") : "none");
    }
    table.setAttribute("data-sorted", col + ":" + dir);
  }
  function firstDir(th) {
    // Metric columns sort best first on the first click.
    var hib = th.getAttribute("data-hib");
    return hib === "0" ? "asc" : (hib === "1" ? "desc" : "asc");
  }
  var tables = document.querySelectorAll("table.sortable");
  Array.prototype.forEach.call(tables, function (table) {
    var ths = table.tHead.rows[0].cells;
    Array.prototype.forEach.call(ths, function (th, col) {
      th.setAttribute("tabindex", "0");
      th.setAttribute("role", "columnheader");
      function go() {
        var cur = table.getAttribute("data-sorted");
        var dir = firstDir(th);
        if (cur === col + ":" + dir) { dir = dir === "asc" ? "desc" : "asc"; }
        sortTable(table, col, dir);
      }
      th.addEventListener("click", go);
      th.addEventListener("keydown", function (e) { if (e.key === "Enter" || e.key === " ") { e.preventDefault(); go(); } });
    });
  });
  var m = /^#sort=([A-Za-z0-9_-]+):([0-9]+):(asc|desc)$/.exec(window.location.hash);
  if (m) {
    var t = document.getElementById(m[1]);
    if (t && t.classList.contains("sortable") && Number(m[2]) < t.tHead.rows[0].cells.length) {
      sortTable(t, Number(m[2]), m[3]);
    }
  }
  document.documentElement.setAttribute("data-sortable", "ready");
})();
