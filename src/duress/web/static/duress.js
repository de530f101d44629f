// Duress pages: live regions, one-click actions, the alarm. No build step, no dependency.
//
// - Every element with data-live="URL" is re-fetched when the event stream (/api/v1/stream) reports
//   a change (at most 4 times a second; data-on="alert. device." limits it to events whose type
//   starts with one of those words), and every 5 s so that clocks move.
// - Buttons with data-action="acknowledge|accept|decline|on-scene" POST to the alerts API with the
//   session's CSRF token; resolve, cancel and assign open a dialog first.
// - While a card marked data-acked="0" is on the board the alarm sounds (WebAudio, generated here:
//   no sound file) and the card flashes, until someone acknowledges it.
(function () {
  "use strict";
  const THROTTLE_MS = 250;
  const TICK_MS = 5000;
  const regions = Array.from(document.querySelectorAll("[data-live]"));
  const live = document.getElementById("live");
  const notice = document.getElementById("notice");
  const via = document.body.classList.contains("phone") ? "responder" : "dashboard";

  function csrf() {
    const match = document.cookie.match(/(?:^|;\s*)duress_csrf=([^;]+)/);
    if (match) return decodeURIComponent(match[1]);
    const meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.content : "";
  }

  function say(text, bad) {
    if (!notice) return;
    notice.textContent = text;
    notice.className = bad ? "notice bad" : "notice";
    notice.hidden = !text;
  }

  // --- live regions -----------------------------------------------------------------------------

  const state = new Map(); // region -> {pending, last}
  async function refresh(region) {
    const s = state.get(region);
    s.pending = false;
    s.last = Date.now();
    const focused = document.activeElement;
    const inside = focused && focused !== document.body && region.contains(focused);
    const key = inside && focused.dataset ? [focused.dataset.action, focused.dataset.alert, focused.dataset.floor] : null;
    let response;
    try {
      response = await fetch(region.dataset.live, { cache: "no-store", credentials: "same-origin" });
    } catch (error) {
      return;
    }
    if (response.redirected && new URL(response.url).pathname === "/login") {
      window.location.assign("/login?next=" + encodeURIComponent(location.pathname + location.search));
      return;
    }
    if (!response.ok) return;
    region.innerHTML = await response.text();
    if (key && key.some(Boolean)) {
      const selector = ["action", "alert", "floor"]
        .map((name, i) => (key[i] ? `[data-${name}="${CSS.escape(key[i])}"]` : ""))
        .join("");
      const again = selector && region.querySelector(selector);
      if (again) again.focus();
    }
    region.dispatchEvent(new CustomEvent("duress:swapped", { bubbles: true }));
  }

  function schedule(region) {
    const s = state.get(region);
    if (s.pending) return;
    s.pending = true;
    setTimeout(() => refresh(region), Math.max(0, THROTTLE_MS - (Date.now() - s.last)));
  }

  function interested(region, type) {
    const on = region.dataset.on;
    return !on || !type || on.split(/\s+/).some((prefix) => type.startsWith(prefix));
  }

  function changed(type) {
    regions.forEach((region) => interested(region, type) && schedule(region));
  }

  const EVENT_TYPES = [
    "button.pressed", "badge.moved", "device.online", "device.silent", "device.battery",
    "gateway.online", "gateway.offline", "alert.raised", "alert.notified", "alert.accepted",
    "alert.declined", "alert.acknowledged", "alert.on_scene", "alert.resolved", "alert.cancelled",
    "alert.joined", "alert.relocated", "alert.undelivered", "notice.status",
  ];

  if (regions.length) {
    regions.forEach((region) => state.set(region, { pending: false, last: 0 }));
    const source = new EventSource("/api/v1/stream");
    source.onopen = () => {
      if (live) { live.textContent = "live"; live.className = "live on"; }
      changed(null);
    };
    source.onerror = () => {
      if (live) { live.textContent = "reconnecting…"; live.className = "live off"; }
    };
    source.onmessage = () => changed(null);
    EVENT_TYPES.forEach((type) => source.addEventListener(type, () => changed(type)));
    setInterval(() => changed(null), TICK_MS);
    window.addEventListener("pagehide", () => source.close());
  }

  // --- map selection ----------------------------------------------------------------------------

  function mapRegion() {
    return document.getElementById("map");
  }

  function setMap(changes) {
    const region = mapRegion();
    if (!region) return false;
    const url = new URL(region.dataset.live, location.origin);
    Object.entries(changes).forEach(([name, value]) => {
      if (value === null || value === "" || value === false) url.searchParams.delete(name);
      else url.searchParams.set(name, value === true ? "1" : value);
    });
    if ("alert" in changes && !("floor" in changes)) url.searchParams.delete("floor");
    region.dataset.live = url.pathname + url.search;
    const page = new URL(location.href);
    page.search = url.search;
    history.replaceState(null, "", page);
    schedule(region);
    return true;
  }

  // --- actions ----------------------------------------------------------------------------------

  async function post(path, body) {
    const response = await fetch(path, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf() },
      body: JSON.stringify(body),
    });
    if (response.ok) return null;
    let detail = `${response.status} ${response.statusText}`;
    try {
      const problem = await response.json();
      detail = problem.detail || problem.title || detail;
    } catch (error) { /* not JSON */ }
    return detail;
  }

  async function act(alertId, action, body) {
    const path = action === "assign"
      ? `/dashboard/alerts/${encodeURIComponent(alertId)}/assign`
      : `/api/v1/alerts/${encodeURIComponent(alertId)}/${action}`;
    const error = await post(path, { via, ...body });
    if (error) say(`Could not ${action.replace("-", " ")} ${alertId}: ${error}`, true);
    else say("");
    changed(null);
    return error;
  }

  function openDialog(name, alertId) {
    const dialog = document.getElementById(`${name}-dialog`);
    if (!dialog) return;
    dialog.dataset.alert = alertId;
    dialog.querySelectorAll('[data-slot="alert"]').forEach((el) => { el.textContent = alertId; });
    const error = dialog.querySelector('[data-slot="error"]');
    if (error) error.textContent = "";
    const form = dialog.querySelector("form");
    if (form) form.reset();
    if (name === "assign") {
      const slot = dialog.querySelector('[data-slot="choices"]');
      slot.innerHTML = '<p class="muted">Loading…</p>';
      fetch(`/dashboard/alerts/${encodeURIComponent(alertId)}/assign`, { credentials: "same-origin" })
        .then((r) => (r.ok ? r.text() : Promise.reject(r.statusText)))
        .then((html) => { slot.innerHTML = html; const s = slot.querySelector("select"); if (s) s.focus(); })
        .catch((e) => { slot.innerHTML = ""; error.textContent = `Could not load responders: ${e}`; });
    }
    dialog.showModal();
  }

  document.addEventListener("click", (event) => {
    const target = event.target.closest("[data-action], [data-map], [data-floor], [data-close]");
    if (!target) return;
    if (target.matches("[data-close]")) {
      target.closest("dialog").close();
      return;
    }
    if (target.matches("[data-map]")) {
      if (setMap({ alert: target.dataset.map })) event.preventDefault();
      return;
    }
    if (target.matches("button[data-floor]")) {
      setMap({ floor: target.dataset.floor });
      return;
    }
    const action = target.dataset.action;
    const alertId = target.dataset.alert;
    if (!action || !alertId) return;
    if (["resolve", "cancel", "assign"].includes(action)) {
      openDialog(action, alertId);
      return;
    }
    target.disabled = true;
    act(alertId, action, {});
  });

  document.addEventListener("change", (event) => {
    if (event.target.matches("input[data-devices]")) setMap({ devices: event.target.checked });
    if (event.target.id === "resolve-code") {
      document.getElementById("resolve-severity").disabled = event.target.value !== "event";
    }
  });

  document.addEventListener("submit", async (event) => {
    const form = event.target;
    const kind = form.dataset.submit;
    if (!kind) return;
    event.preventDefault();
    const dialog = form.closest("dialog");
    const data = Object.fromEntries(new FormData(form).entries());
    if (kind === "resolve" && data.code !== "event") delete data.severity;
    const error = await act(dialog.dataset.alert, kind, data);
    if (error) dialog.querySelector('[data-slot="error"]').textContent = error;
    else dialog.close();
  });

  // --- the alarm --------------------------------------------------------------------------------

  const sound = document.getElementById("sound");
  const alarm = { ringing: false, soft: false, beeps: 0, enabled: false, context: null };
  window.duressAlarm = alarm; // read by the browser tests and by anyone debugging a silent desk

  function context() {
    if (!alarm.context) {
      const Audio = window.AudioContext || window.webkitAudioContext;
      if (!Audio) return null;
      alarm.context = new Audio();
    }
    return alarm.context;
  }

  function beep(frequency, seconds, volume) {
    const ctx = context();
    if (!ctx || ctx.state !== "running") return false;
    const oscillator = ctx.createOscillator();
    const gain = ctx.createGain();
    oscillator.type = "square";
    oscillator.frequency.value = frequency;
    gain.gain.setValueAtTime(volume, ctx.currentTime);
    gain.gain.exponentialRampToValueAtTime(0.0001, ctx.currentTime + seconds);
    oscillator.connect(gain).connect(ctx.destination);
    oscillator.start();
    oscillator.stop(ctx.currentTime + seconds);
    alarm.beeps += 1;
    return true;
  }

  function showSound() {
    if (!sound) return;
    const running = alarm.context && alarm.context.state === "running";
    alarm.enabled = Boolean(running);
    sound.textContent = running ? "Sound: on" : "Sound: off — click to enable";
    sound.setAttribute("aria-pressed", running ? "true" : "false");
    sound.classList.toggle("needed", !running && alarm.ringing);
  }

  async function enableSound() {
    const ctx = context();
    if (ctx && ctx.state !== "running") {
      try { await ctx.resume(); } catch (error) { /* the browser refused */ }
    }
    showSound();
  }

  if (sound) {
    sound.addEventListener("click", enableSound);
    // Any click or key on the page counts as the gesture browsers ask for before playing sound.
    document.addEventListener("pointerdown", enableSound, { once: true });
    document.addEventListener("keydown", enableSound, { once: true });
    enableSound();
  }

  let tick = 0;
  function ring() {
    if (!sound) return; // only the desk's board rings
    const unacked = document.querySelectorAll('.alert-card[data-acked="0"]');
    const loud = Array.from(unacked).some((card) => card.dataset.alarm === "duress");
    alarm.ringing = loud;
    alarm.soft = !loud && unacked.length > 0;
    document.body.classList.toggle("alarming", loud);
    tick += 1;
    if (loud) {
      beep(880, 0.18, 0.25);
      setTimeout(() => beep(660, 0.18, 0.25), 220);
    } else if (alarm.soft && tick % 5 === 0) {
      beep(520, 0.12, 0.08);
    }
    showSound();
  }
  setInterval(ring, 1000);
  document.addEventListener("duress:swapped", ring);
  ring();

  // --- keyboard -----------------------------------------------------------------------------------

  document.addEventListener("keydown", (event) => {
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    if (event.target.closest("input, textarea, select, dialog")) return;
    if (event.key === "a" || event.key === "A") {
      const button = document.querySelector('.alert-card[data-acked="0"] [data-action="acknowledge"]');
      if (button) { event.preventDefault(); button.click(); }
    }
  });
})();
