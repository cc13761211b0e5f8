// e-PRIME live updates: listens to the change stream (Server-Sent Events, /api/v1/stream) with the
// browser's own EventSource and updates the open page. Pages work fully without this script.
(function () {
  "use strict";
  var main = document.getElementById("main");
  if (!main || !window.EventSource || !window.fetch) return;
  var page = main.getAttribute("data-live");
  if (!page) return;

  var LABELS = {
    proposed: "Proposed", approved: "Approved", scheduled: "Scheduled", in_progress: "In progress",
    completed: "Completed", postponed: "Postponed", cancelled: "Cancelled"
  };
  var VERBS = { create: "created", update: "edited", transition: "changed the status of", approve: "approved" };

  var params = [];
  var partnership = main.getAttribute("data-partnership");
  if (partnership) params.push("partnership=" + encodeURIComponent(partnership));
  if (page === "activity") params.push("entity=activity,comment");
  var url = "/api/v1/stream" + (params.length ? "?" + params.join("&") : "");

  function title(change) {
    var record = change.record || {};
    return record.title || change.id || "a record";
  }

  function statusBadge(status) {
    var badge = document.createElement("span");
    badge.className = "badge status-" + status;
    badge.textContent = LABELS[status] || status;
    return badge;
  }

  function describe(change) {
    var who = change.actor || "Someone";
    var verb = VERBS[change.operation] || change.operation;
    var text = who + " " + verb + " \u201c" + title(change) + "\u201d";
    var status = change.record && change.record.status;
    if (change.operation === "transition" && status) text += " (now " + (LABELS[status] || status).toLowerCase() + ")";
    return text;
  }

  function notice(text, withRefresh) {
    var box = document.getElementById("live-notice");
    if (!box) return;
    box.textContent = text + " ";
    if (withRefresh) {
      var link = document.createElement("a");
      link.href = window.location.pathname + window.location.search;
      link.textContent = "Refresh to see it";
      box.appendChild(link);
    }
    box.hidden = false;
  }

  function hrefFor(change) {
    if (change.entity === "activity") return "/activities/" + encodeURIComponent(change.id);
    if (change.entity === "document") return "/documents/" + encodeURIComponent(change.id);
    if (change.entity === "partnership") return "/partnerships/" + encodeURIComponent(change.id);
    return null;
  }

  function onHome(change) {
    var list = document.getElementById("recent-list");
    if (!list) return;
    var item = document.createElement("li");
    item.className = "fresh";
    var href = hrefFor(change);
    var name = document.createElement(href ? "a" : "span");
    if (href) name.href = href;
    name.textContent = title(change);
    item.appendChild(name);
    var status = change.record && change.record.status;
    if (change.entity === "activity" && status) {
      item.appendChild(document.createTextNode(" "));
      item.appendChild(statusBadge(status));
    }
    var meta = document.createElement("span");
    meta.className = "muted";
    meta.textContent = " \u00b7 " + (change.partnership || "") + " \u00b7 " + describe(change) + " just now";
    item.appendChild(meta);
    list.insertBefore(item, list.firstChild);
    while (list.children.length > 20) list.removeChild(list.lastChild);
  }

  function busy(element) {
    var active = document.activeElement;
    if (!active || !element.contains(active)) return false;
    return (active.tagName === "TEXTAREA" || active.tagName === "INPUT") && active.value !== "";
  }

  function refreshFragments() {
    return fetch(window.location.pathname, { credentials: "same-origin", headers: { Accept: "text/html" } })
      .then(function (response) { return response.ok ? response.text() : null; })
      .then(function (html) {
        if (!html) return;
        var fresh = new DOMParser().parseFromString(html, "text/html");
        var next = fresh.getElementById("main");
        if (next) main.setAttribute("data-version", next.getAttribute("data-version") || "");
        fresh.querySelectorAll("[data-live-swap]").forEach(function (replacement) {
          var current = document.getElementById(replacement.id);
          if (current && !busy(current)) current.replaceWith(document.importNode(replacement, true));
        });
      });
  }

  function onActivity(change) {
    var shownId = main.getAttribute("data-activity");
    if (change.entity === "comment") {
      var subject = change.record || {};
      if (subject.subject_id !== shownId) return;
      notice((change.actor || "Someone") + " added to the discussion just now.", false);
      refreshFragments();
      return;
    }
    if (change.entity !== "activity" || change.id !== shownId) return;
    var record = change.record || {};
    var shown = parseInt(main.getAttribute("data-version") || "0", 10);
    if (record.version && record.version <= shown) return;
    if (record.status) {
      var badge = document.querySelector("#activity-status [data-field=status]");
      if (badge) {
        var fresh = statusBadge(record.status);
        fresh.setAttribute("data-field", "status");
        badge.replaceWith(fresh);
      }
    }
    notice(describe(change) + " just now.", false);
    refreshFragments();
  }

  function onProgramme(change) {
    if (change.entity === "activity") {
      var row = document.querySelector('tr[data-activity="' + (window.CSS && CSS.escape ? CSS.escape(change.id) : change.id) + '"]');
      var status = change.record && change.record.status;
      if (row && status) {
        var cell = row.querySelector("[data-field=status]");
        if (cell) {
          cell.className = "badge status-" + status;
          cell.textContent = LABELS[status] || status;
        }
      }
    }
    notice(describe(change) + ". Counts and charts change when you refresh.", true);
  }

  var source = new EventSource(url, { withCredentials: true });
  var state = document.getElementById("live-status");
  source.addEventListener("open", function () {
    main.setAttribute("data-live-connected", "true");
    if (state) state.textContent = "Live: changes made elsewhere appear here as they happen.";
  });
  source.addEventListener("change", function (event) {
    var change;
    try { change = JSON.parse(event.data); } catch (e) { return; }
    if (!change || !change.entity) return;
    if (page === "home") onHome(change);
    else if (page === "activity") onActivity(change);
    else onProgramme(change);
  });
  source.addEventListener("error", function () {
    main.setAttribute("data-live-connected", "false");
    if (state && source.readyState === EventSource.CLOSED) state.textContent = "Live updates are unavailable; reload the page to see changes.";
  });
})();
