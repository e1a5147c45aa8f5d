/* The OBS overlay of one room (/overlay/@room): chat lines and gift alerts, from
   /api/events. Options in the address: ?chat=0, ?alerts=0, ?lines=8, ?seconds=5. */
"use strict";
(function () {
  const params = new URLSearchParams(location.search);
  if (params.has("token")) {
    params.delete("token");
    const rest = params.toString();
    history.replaceState(null, "", location.pathname + (rest ? "?" + rest : ""));
  }
  const room = decodeURIComponent(location.pathname.slice("/overlay/".length));
  const showChat = params.get("chat") !== "0";
  const showAlerts = params.get("alerts") !== "0";
  const lines = Math.max(1, Number(params.get("lines")) || 8);
  const seconds = Math.max(1, Number(params.get("seconds")) || 5);
  const $ = (id) => document.getElementById(id);
  const queue = [];
  let showing = false;

  function who(user) {
    if (!user) return "someone";
    return user.nickname || (user.unique_id ? "@" + user.unique_id : "someone");
  }

  function chat(record) {
    const li = document.createElement("li");
    const name = document.createElement("span");
    name.className = "who";
    name.textContent = who(record.user);
    const text = document.createElement("span");
    text.textContent = record.content || "";
    li.append(name, " ", text);
    const list = $("chat");
    list.append(li);
    while (list.children.length > lines) list.firstElementChild.remove();
    setTimeout(() => li.classList.add("old"), 30000);
  }

  function nextAlert() {
    const item = queue.shift();
    const box = $("alert");
    if (!item) {
      showing = false;
      box.hidden = true;
      return;
    }
    showing = true;
    $("alert-who").textContent = item.who;
    $("alert-what").textContent = item.what;
    box.hidden = false;
    box.dataset.gift = item.gift;
    setTimeout(nextAlert, seconds * 1000);
  }

  function gift(record) {
    let count, diamonds;
    const g = record.gift || {};
    if (record.type === "GiftStreakEvent") {
      if (!record.timed_out) return; // the streak's last GiftEvent was shown already
      count = record.count;
      diamonds = record.diamonds;
    } else {
      if (g.type === 1 && !record.repeat_end) return; // still streaking
      count = Math.max(record.repeat_count || 1, 1);
      diamonds = (g.diamond_count || 0) * count;
    }
    const name = g.name || "a gift";
    queue.push({ who: who(record.user), what: `sent ${name} x${count} \u00b7 ${diamonds} diamonds`, gift: name });
    if (!showing) nextAlert();
  }

  const types = [showChat ? "CommentEvent" : "", showAlerts ? "GiftEvent,GiftStreakEvent" : ""]
    .filter(Boolean)
    .join(",");
  const source = new EventSource(
    "/api/events?room=" + encodeURIComponent(room) + "&type=" + (types || "none")
  );
  source.onmessage = (message) => {
    let record;
    try {
      record = JSON.parse(message.data);
    } catch (e) {
      return;
    }
    if (record.type === "CommentEvent") chat(record);
    else gift(record);
  };
})();
