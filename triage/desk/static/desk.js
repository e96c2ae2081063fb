/* The review desk's keyboard: plain JavaScript, served by the app (no CDN), nothing needed to use the pages
   without it. Queue: N starts reviewing, / searches. Ticket: 1-9 pick a choice of the active head, / types
   another label, Enter accepts, S skips, X marks "not a ticket", Esc goes back to the queue. */
(function () {
  "use strict";

  function typing(el) {
    if (!el || !el.matches) return false;
    return el.matches("input:not([type=radio]):not([type=checkbox]):not([type=hidden]), textarea, select");
  }

  function click(id) {
    var el = document.getElementById(id);
    if (el && !el.disabled) el.click();
    return !!el;
  }

  var form = document.getElementById("review");
  var heads = form ? Array.prototype.slice.call(form.querySelectorAll("fieldset.head")) : [];

  function active() {
    return form.querySelector("fieldset.head.active") || heads[0];
  }

  function activate(fieldset, focus) {
    heads.forEach(function (h) { h.classList.toggle("active", h === fieldset); });
    if (focus && fieldset) {
      var radio = fieldset.querySelector("input[type=radio]:checked") || fieldset.querySelector("input[type=radio]");
      if (radio) radio.focus();
    }
  }

  function advance(fieldset) {
    var next = heads[heads.indexOf(fieldset) + 1];
    if (next) activate(next, true);
    else document.getElementById("accept").focus();
  }

  function refresh() {
    var changed = heads.some(function (h) {
      var checked = h.querySelector("input[type=radio]:checked");
      h.classList.toggle("changed", !!checked && checked.value !== h.dataset.suggested);
      return !!checked && checked.value !== h.dataset.suggested;
    });
    var accept = document.getElementById("accept");
    if (accept) accept.firstChild.nodeValue = changed ? "Save corrections " : "Accept ";
  }

  function choose(fieldset, label) {
    var radios = Array.prototype.slice.call(fieldset.querySelectorAll("input[type=radio]"));
    var radio = radios.filter(function (r) { return r.value === label; })[0];
    if (!radio) {  // a label outside the choices: add it as a choice of its own
      var item = document.createElement("label");
      item.className = "choice typed-choice";
      radio = document.createElement("input");
      radio.type = "radio";
      radio.name = fieldset.dataset.head;
      radio.value = label;
      var text = document.createElement("span");
      text.className = "label";
      text.textContent = label;
      var note = document.createElement("span");
      note.className = "p";
      note.textContent = "typed";
      item.appendChild(radio);
      item.appendChild(text);
      item.appendChild(note);
      fieldset.querySelector(".choices").appendChild(item);
    }
    radio.checked = true;
    refresh();
  }

  function typeahead(fieldset) {
    var input = fieldset.querySelector("input.typed");
    var list = fieldset.querySelector("ul.options");
    var labels = JSON.parse(input.dataset.labels || "[]");
    var shown = [];
    var current = 0;

    function render() {
      var term = input.value.trim().toLowerCase();
      shown = !term ? [] : labels.filter(function (l) { return l.toLowerCase().indexOf(term) >= 0; })
        .sort(function (a, b) { return (b.toLowerCase().indexOf(term) === 0) - (a.toLowerCase().indexOf(term) === 0); })
        .slice(0, 8);
      current = Math.min(current, Math.max(shown.length - 1, 0));
      list.textContent = "";
      shown.forEach(function (label, i) {
        var li = document.createElement("li");
        li.id = list.id + "-" + i;
        li.setAttribute("role", "option");
        li.setAttribute("aria-selected", i === current ? "true" : "false");
        li.textContent = label;
        li.addEventListener("mousedown", function (e) { e.preventDefault(); pick(label); });
        list.appendChild(li);
      });
      list.hidden = shown.length === 0;
      input.setAttribute("aria-expanded", shown.length ? "true" : "false");
      input.setAttribute("aria-activedescendant", shown.length ? list.id + "-" + current : "");
      input.classList.toggle("nomatch", !!term && shown.length === 0);
    }

    function close() {
      input.value = "";
      shown = [];
      render();
    }

    function pick(label) {
      choose(fieldset, label);
      close();
      advance(fieldset);
    }

    input.addEventListener("input", function () { current = 0; render(); });
    input.addEventListener("focus", function () { activate(fieldset, false); });
    input.addEventListener("blur", function () { list.hidden = true; });
    input.addEventListener("change", function () {  // left with a whole label typed: take it
      var term = input.value.trim().toLowerCase();
      var exact = labels.filter(function (l) { return l.toLowerCase() === term; })[0];
      if (exact) { choose(fieldset, exact); input.value = ""; }
    });
    input.addEventListener("keydown", function (e) {
      if (e.key === "ArrowDown" || e.key === "ArrowUp") {
        e.preventDefault();
        if (shown.length) current = (current + (e.key === "ArrowDown" ? 1 : shown.length - 1)) % shown.length;
        render();
      } else if (e.key === "Enter") {
        e.preventDefault();  // never submit from the search box
        if (shown.length) pick(shown[current]);
      } else if (e.key === "Escape") {
        e.preventDefault();
        e.stopPropagation();
        close();
        activate(fieldset, true);
      }
    });
  }

  function ticketKeys(e) {
    if (typing(e.target)) return;
    var head = active();
    if (/^[1-9]$/.test(e.key) && head) {
      var radio = head.querySelectorAll("input[type=radio]")[Number(e.key) - 1];
      if (!radio) return;
      e.preventDefault();
      radio.checked = true;
      refresh();
      advance(head);
    } else if (e.key === "/" && head) {
      e.preventDefault();
      head.querySelector("input.typed").focus();
    } else if (e.key === "Enter" && !(e.target.matches && e.target.matches("button, a"))) {
      e.preventDefault();
      form.requestSubmit(document.getElementById("accept"));
    } else if (e.key === "s" || e.key === "S") {
      e.preventDefault();
      click("skip");
    } else if (e.key === "x" || e.key === "X") {
      e.preventDefault();
      click("not-a-ticket");
    }
  }

  function pageKeys(e) {
    if (e.ctrlKey || e.metaKey || e.altKey) return;
    if (e.key === "Escape" && !typing(e.target)) {
      var back = document.getElementById("back");
      if (back) { e.preventDefault(); back.click(); }
      return;
    }
    if (form) { ticketKeys(e); return; }
    if (typing(e.target)) return;
    if (e.key === "n" || e.key === "N") {
      if (click("start")) e.preventDefault();
    } else if (e.key === "/") {
      var search = document.querySelector("input[type=search]");
      if (search) { e.preventDefault(); search.focus(); }
    }
  }

  document.addEventListener("keydown", pageKeys);
  if (form) {
    heads.forEach(function (h) {
      h.addEventListener("focusin", function () { activate(h, false); });
      h.addEventListener("change", refresh);
      typeahead(h);
    });
    form.addEventListener("submit", function () {  // one submit only, even when Enter is held down
      form.addEventListener("submit", function (e) { e.preventDefault(); });
    });
    activate(active(), true);
    refresh();
  }
})();
