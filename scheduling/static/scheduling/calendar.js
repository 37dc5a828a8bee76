// Calendar conveniences; everything also works without JavaScript.
// Keys: t = today, ← / → = previous / next day or week, n = new booking, d / w = day / week view.
(function () {
  "use strict";
  const shortcuts = { t: "cal-today", ArrowLeft: "cal-prev", ArrowRight: "cal-next", n: "cal-book", d: "cal-day", w: "cal-week" };
  document.addEventListener("keydown", function (event) {
    if (event.metaKey || event.ctrlKey || event.altKey) return;
    if (event.target.closest("input, select, textarea, button, [contenteditable], .dropdown-menu")) return;
    const target = document.getElementById(shortcuts[event.key]);
    if (target) {
      event.preventDefault();
      target.click();
    }
  });
  document.querySelectorAll("select[data-autosubmit]").forEach(function (select) {
    select.addEventListener("change", function () { select.form.requestSubmit(); });
  });
  document.querySelectorAll("[data-print]").forEach(function (button) {
    button.addEventListener("click", function () { window.print(); });
  });
  const now = document.querySelector(".cal-now");
  const scroller = document.querySelector(".cal-scroll");
  if (now && scroller) {
    scroller.scrollTop = Math.max(0, now.offsetTop - scroller.clientHeight / 3);
  }
})();
