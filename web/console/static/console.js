// Search as you type: the list pages' search box fetches the results
// (rendered and escaped by the server) and puts them in place. Without
// JavaScript the box is an ordinary GET form.
"use strict";
document.addEventListener("DOMContentLoaded", function () {
  var box = document.querySelector("input[data-live]");
  var results = document.getElementById("results");
  if (!box || !results) return;
  var timer = null, seq = 0;
  box.addEventListener("input", function () {
    clearTimeout(timer);
    timer = setTimeout(function () {
      var mine = ++seq;
      var q = new URLSearchParams({ q: box.value, fragment: "1" });
      fetch(box.dataset.live + "?" + q.toString(), {
        credentials: "same-origin",
        headers: { "X-Requested-With": "fetch" }
      }).then(function (r) {
        if (r.status === 401 && r.headers.get("X-Login")) {
          window.location = r.headers.get("X-Login");
          return null;
        }
        return r.ok ? r.text() : null;
      }).then(function (html) {
        if (html === null || mine !== seq) return;
        results.innerHTML = html;
        var shown = new URLSearchParams({ q: box.value });
        history.replaceState(null, "", box.dataset.live + (box.value ? "?" + shown.toString() : ""));
      });
    }, 200);
  });
});
