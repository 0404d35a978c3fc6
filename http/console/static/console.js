// accountd console: the password rules checked as the user types (the lengths come from the
// policy the server enforces, in the input's data attributes). Everything else works without
// script.
"use strict";
document.addEventListener("DOMContentLoaded", function () {
  var pw = document.getElementById("new_password");
  var again = document.getElementById("confirm_password");
  if (!pw || !again) { return; }
  var min = parseInt(pw.dataset.min, 10), max = parseInt(pw.dataset.max, 10);
  var length = document.querySelector('[data-rule="length"]');
  var match = document.querySelector('[data-rule="match"]');
  function mark(el, ok, touched) {
    el.classList.toggle("met", touched && ok);
    el.classList.toggle("broken", touched && !ok);
  }
  function check() {
    var n = Array.from(pw.value).length;
    mark(length, n >= min && n <= max, pw.value !== "");
    mark(match, pw.value === again.value, again.value !== "");
  }
  pw.addEventListener("input", check);
  again.addEventListener("input", check);
});
