// Live board: listen to the event stream; on any event, re-fetch the board (at most 4 times a second).
(function () {
  const live = document.getElementById("live");
  const board = document.getElementById("board");
  let pending = false;
  let last = 0;
  async function refresh() {
    pending = false;
    last = Date.now();
    const response = await fetch("/dashboard/board", { cache: "no-store" });
    if (response.ok) board.innerHTML = await response.text();
  }
  function schedule() {
    if (pending) return;
    pending = true;
    setTimeout(refresh, Math.max(0, 250 - (Date.now() - last)));
  }
  const source = new EventSource("/api/v1/stream");
  source.onopen = () => { live.textContent = "live"; live.className = "live on"; schedule(); };
  source.onerror = () => { live.textContent = "reconnecting…"; live.className = "live off"; };
  source.onmessage = schedule;
  [
    "button.pressed", "badge.moved", "device.online", "device.silent", "alert.raised",
    "alert.notified", "alert.accepted", "alert.declined", "alert.on_scene", "alert.resolved",
    "alert.cancelled", "alert.joined", "alert.relocated", "alert.undelivered", "notice.status",
  ].forEach(
    (type) => source.addEventListener(type, schedule)
  );
  setInterval(schedule, 5000); // ages keep moving even when nothing happens
})();
