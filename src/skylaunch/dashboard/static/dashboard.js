/* skylaunch dashboard: filters, sorting, the timeline, control buttons and the live log.
   Plain script, no dependencies; every feature degrades to the server-rendered page. */
(function () {
  "use strict";
  var body = document.body;
  var root = body.getAttribute("data-root") || "";

  function say(text) {
    var box = document.getElementById("status-message");
    if (box) { box.textContent = text; box.classList.add("shown"); }
  }

  document.querySelectorAll("form.filters").forEach(function (form) {
    form.addEventListener("submit", function (ev) { ev.preventDefault(); });
  });

  /* --- overview: filter and sort ------------------------------------------------------ */
  var table = document.getElementById("tasks");
  if (table) {
    var nameBox = document.getElementById("f-name");
    var statusBox = document.getElementById("f-status");
    var rows = Array.prototype.slice.call(table.tBodies[0].rows);
    var filter = function () {
      var text = nameBox.value.trim().toLowerCase();
      var status = statusBox.value;
      rows.forEach(function (row) {
        var ok = (!text || row.getAttribute("data-name").toLowerCase().indexOf(text) >= 0) &&
          (!status || (status === "failed" ? row.getAttribute("data-outcome") === "fail"
                                           : row.getAttribute("data-status") === status));
        row.hidden = !ok;
      });
    };
    nameBox.addEventListener("input", filter);
    statusBox.addEventListener("change", filter);
    var params = new URLSearchParams(location.search);
    if (params.get("q")) { nameBox.value = params.get("q"); }
    if (params.get("status")) { statusBox.value = params.get("status"); }
    filter();
    table.querySelectorAll("button.sort").forEach(function (button) {
      button.addEventListener("click", function () {
        var col = Number(button.getAttribute("data-col"));
        var th = button.parentNode;
        var asc = th.getAttribute("aria-sort") !== "ascending";
        table.querySelectorAll("th[aria-sort]").forEach(function (h) { h.setAttribute("aria-sort", "none"); });
        th.setAttribute("aria-sort", asc ? "ascending" : "descending");
        var key = function (row) {
          var cell = row.cells[col];
          var v = cell.getAttribute("data-sort");
          if (v === null) { return cell.textContent.trim().toLowerCase(); }
          var n = Number(v);
          return isNaN(n) ? v : n;
        };
        rows.sort(function (a, b) {
          var x = key(a), y = key(b);
          return (x < y ? -1 : x > y ? 1 : 0) * (asc ? 1 : -1);
        });
        var tb = table.tBodies[0];
        rows.forEach(function (row) { tb.appendChild(row); });
      });
    });
  }

  var timeline = document.getElementById("timeline");
  if (timeline) {
    fetch(timeline.getAttribute("data-src") + "?fragment=1", { credentials: "same-origin" })
      .then(function (r) { return r.text(); })
      .then(function (text) { timeline.innerHTML = text; })
      .catch(function () { timeline.textContent = "The timeline could not be loaded."; });
  }

  /* --- control buttons: POST a JSON body (a cross-site form cannot) ------------------- */
  document.querySelectorAll("button.act").forEach(function (button) {
    button.addEventListener("click", function () {
      var action = button.getAttribute("data-action");
      if ((action === "terminate" || action === "disable") &&
          !window.confirm(button.textContent + " this task?")) { return; }
      button.disabled = true;
      fetch(button.getAttribute("data-url"), {
        method: "POST", credentials: "same-origin",
        headers: { "Content-Type": "application/json" }, body: "{}"
      }).then(function (r) {
        return r.json().then(function (j) {
          if (!r.ok) { throw new Error(j.detail || r.statusText); }
          say(button.textContent + ": done");
          if (action === "disable" || action === "enable") {
            window.setTimeout(function () { location.reload(); }, 300);
          }
        });
      }).catch(function (e) { say(button.textContent + " failed: " + e.message); })
        .then(function () { button.disabled = false; });
    });
  });

  /* --- live log: server-sent events, batched per animation frame, capped -------------- */
  var MAX_LINES = 1000;   /* lines kept in the page */
  var PER_FRAME = 300;    /* lines added per frame at most; the rest wait (or are dropped) */
  var MAX_PENDING = 5000; /* lines waiting beyond this are dropped: the page never falls behind */
  var lists = document.querySelectorAll("ol.live");
  if (lists.length && window.EventSource) {
    var list = lists[0];
    var task = list.getAttribute("data-task");
    var pending = [];
    var paused = false, dropped = 0, shown = 0, scheduled = false;
    var filterBox = document.getElementById("live-filter");
    var counter = document.getElementById("live-count");
    var pauseButton = document.getElementById("live-pause");
    var clearButton = document.getElementById("live-clear");
    var fmt = function (line) {
      var t = typeof line.created === "number" ? new Date(line.created * 1000) : new Date(line.created);
      var hh = isNaN(t) ? "" : t.toISOString().slice(11, 23);
      var parts = [hh, line.task_name || "-", line.action || line.level || "", line.message || ""];
      return parts.join("  ");
    };
    var draw = function () {
      scheduled = false;
      if (paused) { return; }
      var batch = pending.splice(0, PER_FRAME);
      var text = filterBox ? filterBox.value.trim().toLowerCase() : "";
      var frag = document.createDocumentFragment();
      batch.forEach(function (line) {
        var s = fmt(line);
        if (text && s.toLowerCase().indexOf(text) < 0) { return; }
        var li = document.createElement("li");
        li.textContent = s;
        if (line.action) { li.className = "a-" + line.action; }
        if (line.exc_text) { li.title = line.exc_text; }
        frag.appendChild(li);
      });
      var stick = list.scrollHeight - list.scrollTop - list.clientHeight < 40;
      list.appendChild(frag);
      while (list.childElementCount > MAX_LINES) { list.removeChild(list.firstElementChild); }
      shown += batch.length;
      if (stick) { list.scrollTop = list.scrollHeight; }
      if (counter) {
        counter.textContent = shown + " lines received" + (dropped ? ", " + dropped + " skipped" : "");
      }
      if (pending.length) { schedule(); }
    };
    var schedule = function () {
      if (!scheduled) { scheduled = true; window.requestAnimationFrame(draw); }
    };
    var url = root + "/live/events" + (task ? "?task=" + encodeURIComponent(task) : "");
    var source = new EventSource(url);
    source.addEventListener("lines", function (ev) {
      var data = JSON.parse(ev.data);
      dropped += data.skipped || 0;
      Array.prototype.push.apply(pending, data.lines);
      if (pending.length > MAX_PENDING) {
        dropped += pending.length - MAX_PENDING;
        pending.splice(0, pending.length - MAX_PENDING);
      }
      schedule();
    });
    if (pauseButton) {
      pauseButton.addEventListener("click", function () {
        paused = !paused;
        pauseButton.setAttribute("aria-pressed", String(paused));
        pauseButton.textContent = paused ? "Resume" : "Pause";
        if (!paused) { schedule(); }
      });
    }
    if (clearButton) {
      clearButton.addEventListener("click", function () { list.textContent = ""; });
    }
    list.setAttribute("data-connected", "yes");
  }
})();
