/* The dashboard page: rooms from /api/rooms, charts from /api/history, the feed from
   /api/events (server-sent events). Everything user-made is set as text, never as HTML. */
"use strict";
(function () {
  const MAX_FEED = 200;
  const CHART_ROOMS = 8;
  const params = new URLSearchParams(location.search);
  if (params.has("token")) {
    // the server answered with a cookie; keep the token out of the address bar
    params.delete("token");
    const rest = params.toString();
    history.replaceState(null, "", location.pathname + (rest ? "?" + rest : ""));
  }
  const refresh = Math.max(250, Number(params.get("refresh")) || 1000);
  const $ = (id) => document.getElementById(id);
  const colours = {};

  function colour(room) {
    if (!colours[room]) {
      let hash = 0;
      for (const ch of room) hash = (hash * 31 + ch.charCodeAt(0)) >>> 0;
      colours[room] = `hsl(${hash % 360}, 70%, 62%)`;
    }
    return colours[room];
  }

  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  function ago(seconds) {
    if (!seconds) return "";
    const d = Math.max(0, Date.now() / 1000 - seconds);
    if (d < 60) return Math.round(d) + "s ago";
    if (d < 3600) return Math.round(d / 60) + "m ago";
    return Math.round(d / 3600) + "h ago";
  }

  const fmt = new Intl.NumberFormat("en");

  // -- rooms ----------------------------------------------------------------------
  let rooms = [];

  function renderRooms() {
    const body = $("rooms").tBodies[0];
    const rows = rooms.map((r) => {
      const tr = el("tr");
      tr.dataset.room = r.room;
      const name = el("td", "room-name");
      const swatch = el("span", "swatch");
      swatch.style.background = colour(r.room);
      name.append(swatch, el("span", "", r.room));
      const state = el("td");
      state.append(el("span", "state state-" + r.state, r.state));
      const overlay = el("td");
      const link = el("a", "", "overlay");
      link.href = "/overlay/" + encodeURIComponent(r.room);
      overlay.append(link);
      tr.append(
        name,
        state,
        el("td", "mode", r.mode || "\u2013"),
        el("td", "num viewers", fmt.format(r.viewers)),
        el("td", "num rate", r.events_per_second.toFixed(1)),
        el("td", "num events", fmt.format(r.events)),
        el("td", "num diamonds", fmt.format(r.diamonds)),
        el("td", "last", r.last_event ? `${r.last_event} \u00b7 ${ago(r.last_event_time)}` : "\u2013"),
        overlay
      );
      return tr;
    });
    body.replaceChildren(...rows);
    $("no-rooms").hidden = rooms.length > 0;
    $("sum-rooms").textContent = fmt.format(rooms.length);
    $("sum-live").textContent = fmt.format(rooms.filter((r) => r.state === "live").length);
    $("sum-rate").textContent = rooms.reduce((a, r) => a + r.events_per_second, 0).toFixed(1);
    $("sum-diamonds").textContent = fmt.format(rooms.reduce((a, r) => a + r.diamonds, 0));
    const select = $("feed-room");
    const known = new Set([...select.options].map((o) => o.value));
    for (const r of rooms) {
      if (!known.has(r.room)) select.append(new Option(r.room, r.room));
    }
  }

  async function pollRooms() {
    try {
      const answer = await fetch("/api/rooms", { cache: "no-store" });
      if (answer.ok) {
        rooms = await answer.json();
        renderRooms();
      }
    } catch (e) {
      /* the next poll retries */
    }
    setTimeout(pollRooms, refresh);
  }

  // -- charts ---------------------------------------------------------------------
  async function pollHistory() {
    try {
      const answer = await fetch("/api/history", { cache: "no-store" });
      if (answer.ok) drawCharts(await answer.json());
    } catch (e) {
      /* the next poll retries */
    }
    setTimeout(pollHistory, Math.max(refresh, 2000));
  }

  function drawCharts(history) {
    const latest = (key, i) => {
      const s = history[key];
      return s.length ? s[s.length - 1][i] : 0;
    };
    const keys = Object.keys(history)
      .sort((a, b) => latest(b, 1) + latest(b, 2) - (latest(a, 1) + latest(a, 2)))
      .slice(0, CHART_ROOMS);
    const series = (i) =>
      keys.map((k) => ({ name: k, color: colour(k), points: history[k].map((p) => [p[0], p[i]]) }));
    window.FastliveChart.draw($("chart-viewers"), series(1));
    window.FastliveChart.draw($("chart-diamonds"), series(2));
    $("legend").replaceChildren(
      ...keys.map((k) => {
        const li = el("li");
        const swatch = el("span", "swatch");
        swatch.style.background = colour(k);
        li.append(swatch, el("span", "", k));
        return li;
      })
    );
  }

  // -- the feed -------------------------------------------------------------------
  function who(user) {
    if (!user) return "someone";
    return user.nickname || (user.unique_id ? "@" + user.unique_id : "someone");
  }

  function finishedGift(r) {
    // one line per gift: the last message of a streak, a gift that does not streak,
    // or a streak that timed out (its end message never came)
    if (r.type === "GiftStreakEvent") return r.timed_out;
    const gift = r.gift || {};
    return !(gift.type === 1 && !r.repeat_end);
  }

  function describe(r) {
    if (r.type === "CommentEvent") return ["chat", r.content || r.comment || ""];
    if (r.type === "FollowEvent") return ["follow", "followed"];
    if (r.type === "GiftEvent" || r.type === "GiftStreakEvent") {
      if (!finishedGift(r)) return null;
      const gift = r.gift || {};
      const count = r.type === "GiftStreakEvent" ? r.count : Math.max(r.repeat_count || 1, 1);
      const diamonds = r.type === "GiftStreakEvent" ? r.diamonds : (gift.diamond_count || 0) * count;
      return ["gift", `sent ${gift.name || "gift " + r.gift_id} x${count} (${fmt.format(diamonds)} diamonds)`];
    }
    return null;
  }

  function visible(li) {
    const room = $("feed-room").value;
    const kinds = { chat: $("feed-chat").checked, gift: $("feed-gifts").checked, follow: $("feed-follows").checked };
    return (!room || li.dataset.room === room) && kinds[li.dataset.kind];
  }

  function refilter() {
    for (const li of $("feed").children) li.classList.toggle("hidden", !visible(li));
  }

  function addFeed(record) {
    const described = describe(record);
    if (!described) return;
    const [kind, what] = described;
    const li = el("li", "kind-" + kind);
    li.dataset.room = record.room;
    li.dataset.kind = kind;
    li.dataset.type = record.type;
    const time = record.create_time ? new Date(record.create_time) : new Date();
    li.append(
      el("span", "time", new Date().toTimeString().slice(0, 8)),
      el("span", "room", record.room),
      el("span", "who", who(record.user)),
      el("span", "what", what)
    );
    li.title = time.toISOString();
    li.classList.toggle("hidden", !visible(li));
    const feed = $("feed");
    feed.prepend(li);
    while (feed.children.length > MAX_FEED) feed.lastElementChild.remove();
  }

  function connect() {
    const types = "CommentEvent,GiftEvent,GiftStreakEvent,FollowEvent";
    const source = new EventSource("/api/events?type=" + types);
    source.onopen = () => {
      $("link").textContent = "live";
      $("link").className = "link up";
    };
    source.onerror = () => {
      $("link").textContent = "reconnecting";
      $("link").className = "link down";
    };
    source.onmessage = (message) => {
      try {
        addFeed(JSON.parse(message.data));
      } catch (e) {
        /* a record this page does not know how to show */
      }
    };
  }

  for (const id of ["feed-room", "feed-chat", "feed-gifts", "feed-follows"]) {
    $(id).addEventListener("change", refilter);
  }
  pollRooms();
  pollHistory();
  connect();
})();
