// Page behaviour that HTML alone cannot give: live regions polled through htmx with a
// conditional GET, times that stay relative, and a confirmation before destructive buttons.
// Loaded with defer from the site's own origin; the pages carry no inline script.
(function () {
  "use strict";

  // Runs after htmx is loaded (both deferred, in order) and before it processes the page.
  if (window.htmx) {
    // Nothing evaluated from attributes, no script run from swapped content, no request
    // to another origin; a poll that cannot finish in time counts as failed.
    htmx.config.allowEval = false;
    htmx.config.allowScriptTags = false;
    htmx.config.selfRequestsOnly = true;
    htmx.config.timeout = 10000;
    // A 304 answers a live region's conditional poll: nothing changed, nothing to swap.
    htmx.config.responseHandling = [
      { code: "204", swap: false },
      { code: "304", swap: false },
      { code: "[23]..", swap: true },
      { code: "[45]..", swap: false, error: true },
      { code: "...", swap: false },
    ];
  }

  function liveStatus() {
    return document.getElementById("live-status");
  }

  function isLive(elt) {
    return Boolean(elt && elt.hasAttribute && elt.hasAttribute("data-live"));
  }

  function setState(state) {
    var status = liveStatus();
    if (!status) {
      return;
    }
    status.dataset.state = state;
    if (state === "live") {
      var checked = status.querySelector("[data-checked]");
      if (checked) {
        var now = new Date();
        checked.setAttribute("datetime", now.toISOString());
        checked.textContent = now.toLocaleTimeString();
      }
    }
  }

  // The live region carries the ETag of what it shows; the server answers 304 (nothing
  // swapped) until the talk changes.
  document.addEventListener("htmx:configRequest", function (event) {
    var elt = event.detail.elt;
    if (isLive(elt) && elt.dataset.etag) {
      event.detail.headers["If-None-Match"] = elt.dataset.etag;
    }
  });

  // Fired for every outcome, network errors and timeouts included (status 0).
  document.addEventListener("htmx:afterRequest", function (event) {
    if (!isLive(event.detail.elt)) {
      return;
    }
    var xhr = event.detail.xhr;
    var status = xhr ? xhr.status : 0;
    setState(status === 200 || status === 304 ? "live" : "stale");
  });

  var units = [
    ["year", 31536000],
    ["month", 2592000],
    ["week", 604800],
    ["day", 86400],
    ["hour", 3600],
    ["minute", 60],
  ];
  var format =
    window.Intl && Intl.RelativeTimeFormat
      ? new Intl.RelativeTimeFormat("en", { numeric: "auto" })
      : null;

  function relative(date) {
    var seconds = (date.getTime() - Date.now()) / 1000;
    if (Math.abs(seconds) < 60 || !format) {
      return "just now";
    }
    for (var i = 0; i < units.length; i++) {
      if (Math.abs(seconds) >= units[i][1]) {
        return format.format(Math.round(seconds / units[i][1]), units[i][0]);
      }
    }
    return "just now";
  }

  function refreshTimes() {
    var times = document.querySelectorAll("time[data-relative]");
    for (var i = 0; i < times.length; i++) {
      var date = new Date(times[i].getAttribute("datetime"));
      if (!isNaN(date.getTime())) {
        times[i].textContent = (times[i].dataset.prefix || "") + relative(date);
      }
    }
  }

  window.setInterval(refreshTimes, 30000);

  // A linked condition shows the inputs for the issue it points at: a range for a numeric
  // issue, that options otherwise. Without script every input stays visible.
  function showLinkParts(select) {
    var row = select.closest("[data-link-row]");
    if (!row) {
      return;
    }
    var chosen = select.options[select.selectedIndex];
    var key = select.value;
    var kind = chosen ? chosen.getAttribute("data-kind") : "";
    var parts = row.querySelectorAll("[data-link-part]");
    for (var i = 0; i < parts.length; i++) {
      var part = parts[i].getAttribute("data-link-part");
      parts[i].hidden = !key || (part === "numeric" ? kind !== "numeric" : part !== key);
    }
  }

  function initLinks() {
    var selects = document.querySelectorAll("[data-link-issue]");
    for (var i = 0; i < selects.length; i++) {
      showLinkParts(selects[i]);
    }
  }

  document.addEventListener("change", function (event) {
    if (event.target.matches && event.target.matches("[data-link-issue]")) {
      showLinkParts(event.target);
    }
  });

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", initLinks);
  } else {
    initLinks();
  }

  // A builder change that failed to reach the server, or was refused outright (a closed
  // session's CSRF token, access withdrawn), swaps nothing: say so where the editor is.
  function builderFailed(event) {
    var elt = event.detail.elt;
    var builder = elt && elt.closest ? elt.closest("#builder") : null;
    var note = builder ? builder.querySelector("[data-builder-failed]") : null;
    if (!note) {
      return;
    }
    var xhr = event.detail.xhr;
    var reason = note.querySelector("[data-reason]");
    if (reason) {
      reason.textContent = xhr && xhr.status ? "the server answered " + xhr.status : "no connection";
    }
    note.hidden = false;
  }

  document.addEventListener("htmx:responseError", builderFailed);
  document.addEventListener("htmx:sendError", builderFailed);
  document.addEventListener("htmx:timeout", builderFailed);

  document.addEventListener("submit", function (event) {
    var form = event.target;
    var question = form && form.dataset ? form.dataset.confirm : "";
    if (question && !window.confirm(question)) {
      event.preventDefault();
    }
  });
})();
