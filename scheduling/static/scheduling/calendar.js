// Calendar conveniences; everything also works without JavaScript.
// Keys: t = today, ← / → = previous / next day or week, n = new booking, d / w = day / week view.
(function () {
  "use strict";
  const shortcuts = { t: "cal-today", ArrowLeft: "cal-prev", ArrowRight: "cal-next", n: "cal-book", d: "cal-day", w: "cal-week" };
  document.addEventListener("keydown", function (event) {
    if (event.metaKey || event.ctrlKey || event.altKey) return;
    if (event.target.closest("input, select, textarea, button, [contenteditable], .dropdown-menu, dialog")) return;
    // Inside the day grid the arrow keys walk slots and move bookings instead.
    if (event.key.startsWith("Arrow") && event.target.closest(".cal-scroll")) return;
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
  // The booking just made or moved is scrolled into view and highlighted; otherwise the time now.
  const scroller = document.querySelector(".cal-scroll");
  const focused = document.querySelector(".cal-appt.is-focus");
  const now = document.querySelector(".cal-now");
  if (focused && scroller) {
    focused.scrollIntoView({ block: "center", inline: "center" });
    const link = focused.querySelector(".cal-link");
    if (link) link.focus({ preventScroll: true });
  } else if (now && scroller) {
    scroller.scrollTop = Math.max(0, now.offsetTop - scroller.clientHeight / 3);
  }
})();

// --- Day grid: move a booking by dragging it, with the arrow keys, or with the Move dialog;
// book an empty slot with Enter. Every move goes to the server's reschedule service, which
// answers with the grid again: the booking in its new place, or back in its old one with the
// refusal on its card.
(function () {
  "use strict";
  const ROW_MINUTES = 5;
  const live = document.getElementById("cal-live");
  let saved = null; // scroll position kept across the grid's replacement
  let drag = null;
  let keyMove = null;

  function grid() { return document.getElementById("cal-grid"); }
  function pad(n) { return String(n).padStart(2, "0"); }
  function hhmm(minutes) { return pad(Math.floor(minutes / 60)) + ":" + pad(minutes % 60); }
  function clockText(minutes) {
    const h = Math.floor(minutes / 60);
    return (h % 12 || 12) + ":" + pad(minutes % 60) + " " + (h < 12 ? "AM" : "PM");
  }
  function csrfToken() {
    try { return JSON.parse(document.body.getAttribute("hx-headers"))["X-CSRFToken"] || ""; } catch (e) { return ""; }
  }
  function announce(text) { if (live) live.textContent = text; }
  function columns(g) { return Array.from(g.querySelectorAll(".cal-col[data-resource]")); }

  // Where a booking would land if its top moved by `rows` and it went to `column`.
  function placement(card, rows, column) {
    const g = grid();
    const total = Number(g.dataset.rows);
    const span = Number(card.dataset.span) || 1;
    const row = Math.min(Math.max(1, Number(card.dataset.row) + rows), Math.max(1, total - span + 1));
    const minutes = Number(g.dataset.startMinutes) + (row - 1) * ROW_MINUTES;
    return { row: row, column: column, minutes: minutes, label: clockText(minutes) + " · " + column.dataset.label };
  }

  function rowHeight(card) {
    const g = grid();
    return card.parentElement.getBoundingClientRect().height / Math.max(1, Number(g.dataset.rows));
  }

  function showPlacement(card, place) {
    const home = card.closest(".cal-col");
    const dx = place.column.getBoundingClientRect().left - home.getBoundingClientRect().left;
    const dy = (place.row - Number(card.dataset.row)) * rowHeight(card);
    card.style.transform = "translate(" + dx + "px, " + dy + "px)";
    let tag = card.querySelector(".cal-drop-label");
    if (!tag) {
      tag = document.createElement("span");
      tag.className = "cal-drop-label";
      card.appendChild(tag);
    }
    tag.textContent = "→ " + place.label;
  }

  function reset(card) {
    card.style.transform = "";
    card.classList.remove("is-dragging", "is-moving");
    const tag = card.querySelector(".cal-drop-label");
    if (tag) tag.remove();
  }

  function unchanged(card, place) {
    return place.row === Number(card.dataset.row) && place.column.dataset.resource === card.dataset.resource;
  }

  function send(card, values) {
    const g = grid();
    const scroller = g.querySelector(".cal-scroll");
    saved = { top: scroller.scrollTop, left: scroller.scrollLeft };
    card.classList.add("is-saving");
    // The card itself carries the version: a quick action swaps the card, and with it the version.
    const wrap = card.querySelector(".cal-card-wrap");
    values.version = wrap ? wrap.dataset.version : "";
    values.shown = values.shown || g.dataset.day;
    values.columns = g.dataset.columns;
    announce("Moving…");
    htmx.ajax("POST", card.dataset.moveUrl, {
      target: "#cal-grid",
      swap: "outerHTML",
      values: values,
      headers: { "X-CSRFToken": csrfToken() },
    });
  }

  function sendPlacement(card, place) {
    send(card, { resource: place.column.dataset.resource, date: grid().dataset.day, start_time: hhmm(place.minutes) });
  }

  // --- Pointer dragging (mouse, pen, touch) ---
  document.addEventListener("pointerdown", function (event) {
    const g = grid();
    if (!g || !g.dataset.drag || event.button !== 0 || keyMove) return;
    const card = event.target.closest(".cal-appt[data-move-url]");
    if (!card || event.target.closest(".cal-actions")) return;
    drag = { card: card, x: event.clientX, y: event.clientY, moved: false, place: null };
  });

  document.addEventListener("pointermove", function (event) {
    if (!drag) return;
    const dx = event.clientX - drag.x;
    const dy = event.clientY - drag.y;
    if (!drag.moved) {
      if (Math.hypot(dx, dy) < 6) return;
      drag.moved = true;
      drag.card.classList.add("is-dragging");
    }
    event.preventDefault();
    // The column under the pointer, looking through the dragged card itself.
    const under = document.elementsFromPoint(event.clientX, event.clientY)
      .filter(function (el) { return !drag.card.contains(el); })
      .map(function (el) { return el.closest(".cal-col[data-resource]"); })
      .find(Boolean);
    const column = under || drag.card.closest(".cal-col[data-resource]");
    if (!column) return;
    drag.place = placement(drag.card, Math.round(dy / rowHeight(drag.card)), column);
    showPlacement(drag.card, drag.place);
  });

  function endDrag(commit) {
    if (!drag) return;
    const current = drag;
    drag = null;
    if (!current.moved) return;
    // The click that ends a drag must not open the booking (and no later click may be eaten).
    const swallow = function (e) { e.preventDefault(); e.stopPropagation(); };
    document.addEventListener("click", swallow, { capture: true, once: true });
    setTimeout(function () { document.removeEventListener("click", swallow, { capture: true }); }, 0);
    if (commit && current.place && !unchanged(current.card, current.place)) {
      sendPlacement(current.card, current.place);
    } else {
      reset(current.card);
    }
  }
  // A booking's link would otherwise start the browser's own link dragging, which cancels ours.
  document.addEventListener("dragstart", function (event) {
    if (grid() && grid().dataset.drag && event.target.closest && event.target.closest(".cal-appt[data-move-url]")) {
      event.preventDefault();
    }
  });
  document.addEventListener("pointerup", function () { endDrag(true); });
  document.addEventListener("pointercancel", function () { endDrag(false); });

  // --- Keyboard: m on a booking starts a move; arrows pick time and chair; Enter moves; Esc cancels ---
  function startKeyMove(card) {
    const column = card.closest(".cal-col[data-resource]");
    if (!column) return;
    keyMove = { card: card, rows: 0, column: column };
    card.classList.add("is-moving");
    const place = placement(card, 0, column);
    showPlacement(card, place);
    announce("Moving " + card.dataset.name + ". Up and down change the time, left and right the chair; Enter moves, Escape cancels. Now " + place.label + ".");
  }

  function keyMoveStep(event) {
    const k = keyMove;
    const all = columns(grid());
    if (event.key === "Escape") {
      reset(k.card);
      keyMove = null;
      announce("Move cancelled.");
    } else if (event.key === "Enter") {
      const place = placement(k.card, k.rows, k.column);
      keyMove = null;
      if (unchanged(k.card, place)) { reset(k.card); announce("Not moved."); } else { sendPlacement(k.card, place); }
    } else if (event.key === "ArrowUp" || event.key === "ArrowDown") {
      const step = event.shiftKey ? 6 : 1;
      k.rows += event.key === "ArrowUp" ? -step : step;
    } else if (event.key === "ArrowLeft" || event.key === "ArrowRight") {
      const i = all.indexOf(k.column) + (event.key === "ArrowLeft" ? -1 : 1);
      if (i >= 0 && i < all.length) k.column = all[i];
    } else if (event.key !== "Tab") {
      return;
    }
    event.preventDefault();
    event.stopImmediatePropagation();
    if (keyMove) {
      const place = placement(k.card, k.rows, k.column);
      k.rows = place.row - Number(k.card.dataset.row);
      showPlacement(k.card, place);
      announce(place.label);
    }
  }

  // --- Empty slots: one is in the tab order; arrows walk them, Enter books (it is a link) ---
  function slotsOf(column) { return Array.from(column.querySelectorAll(".cal-slot")); }

  function initSlots() {
    const g = grid();
    if (!g) return;
    const first = g.querySelector(".cal-slot");
    if (first && !g.querySelector(".cal-slot[tabindex='0']")) first.tabIndex = 0;
  }

  function slotStep(event, slot) {
    const column = slot.closest(".cal-col");
    const mine = slotsOf(column);
    const index = mine.indexOf(slot);
    let next = null;
    if (event.key === "ArrowDown") next = mine[index + 1];
    else if (event.key === "ArrowUp") next = mine[index - 1];
    else if (event.key === "ArrowLeft" || event.key === "ArrowRight") {
      const all = Array.from(grid().querySelectorAll(".cal-col"));
      const other = all[all.indexOf(column) + (event.key === "ArrowLeft" ? -1 : 1)];
      if (other) {
        const theirs = slotsOf(other);
        next = theirs[Math.min(index, theirs.length - 1)];
      }
    } else return;
    event.preventDefault();
    event.stopImmediatePropagation();
    if (next) {
      slot.tabIndex = -1;
      next.tabIndex = 0;
      next.focus();
    }
  }

  document.addEventListener("keydown", function (event) {
    if (drag && event.key === "Escape") {
      reset(drag.card);
      drag = null;
      return;
    }
    if (keyMove) { keyMoveStep(event); return; }
    const slot = event.target.closest && event.target.closest(".cal-slot");
    if (slot) { slotStep(event, slot); return; }
    const card = event.target.closest && event.target.closest(".cal-appt[data-move-url]");
    if (card && event.key === "m" && !event.ctrlKey && !event.metaKey && !event.altKey && event.target.closest(".cal-link")) {
      event.preventDefault();
      event.stopImmediatePropagation();
      startKeyMove(card);
    }
  }, true);

  // --- The Move dialog (from a booking's actions menu) ---
  const dialog = document.getElementById("cal-move-dialog");
  let dialogCard = null;
  document.addEventListener("click", function (event) {
    const opener = event.target.closest("[data-move-open]");
    if (!opener || !dialog) return;
    dialogCard = opener.closest(".cal-appt[data-move-url]");
    if (!dialogCard) return;
    const form = dialog.querySelector("form");
    dialog.querySelector("[data-move-name]").textContent = dialogCard.dataset.name;
    form.elements.resource.value = dialogCard.dataset.resource;
    form.elements.date.value = grid().dataset.day;
    form.elements.start_time.value = dialogCard.dataset.start;
    dialog.showModal();
    form.elements.start_time.focus();
  });
  if (dialog) {
    dialog.querySelector("[data-move-cancel]").addEventListener("click", function () { dialog.close(); });
    dialog.addEventListener("close", function () {
      if (dialogCard && !dialogCard.classList.contains("is-saving")) {
        const link = dialogCard.querySelector(".cal-link");
        if (link) link.focus();
      }
    });
    dialog.querySelector("form").addEventListener("submit", function (event) {
      event.preventDefault();
      if (!dialogCard) return;
      const form = event.target;
      const card = dialogCard;
      card.classList.add("is-saving");
      dialog.close();
      send(card, {
        resource: form.elements.resource.value,
        date: form.elements.date.value,
        start_time: form.elements.start_time.value,
        fold: form.elements.fold ? form.elements.fold.value : "",
      });
    });
  }

  // --- After the server's answer replaced the grid ---
  // Only the grid's own replacement counts: a quick action settles just its card, and that can
  // happen after a move was sent, which must not use up the move's saved position and focus.
  document.addEventListener("htmx:afterSettle", function (event) {
    const g = grid();
    if (!g || event.target !== g || !saved) return;
    const scroller = g.querySelector(".cal-scroll");
    scroller.scrollTop = saved.top;
    scroller.scrollLeft = saved.left;
    saved = null;
    const status = g.querySelector("[data-move-status]");
    announce(status ? status.textContent.trim() : "");
    const focused = g.querySelector(".cal-appt.is-focus");
    if (focused) {
      focused.scrollIntoView({ block: "nearest", inline: "nearest" });
      const link = focused.querySelector(".cal-link");
      if (link) link.focus({ preventScroll: true });
    }
    initSlots();
  });

  // --- The current-time line follows the clock, in the clinic's zone ---
  function updateNow() {
    const g = grid();
    if (!g || !g.dataset.zone) return;
    const parts = {};
    new Intl.DateTimeFormat("en-CA", {
      timeZone: g.dataset.zone, year: "numeric", month: "2-digit", day: "2-digit",
      hour: "2-digit", minute: "2-digit", hourCycle: "h23",
    }).formatToParts(new Date()).forEach(function (p) { parts[p.type] = p.value; });
    const minutes = Number(parts.hour) * 60 + Number(parts.minute);
    const row = 1 + Math.floor((minutes - Number(g.dataset.startMinutes)) / ROW_MINUTES);
    const shown = parts.year + "-" + parts.month + "-" + parts.day === g.dataset.day && row >= 1 && row <= Number(g.dataset.rows);
    g.querySelectorAll(".cal-now").forEach(function (line) {
      line.className = line.className.replace(/\bgr-s\d+\b/, "gr-s" + row);
      line.hidden = !shown;
    });
  }

  initSlots();
  setInterval(updateNow, 60 * 1000);
})();
