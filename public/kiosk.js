// Panel pages only (app/src/panel.rs): keeps the screen on while the panel
// is shown, where the browser offers the Screen Wake Lock API (a secure
// context: https, or localhost). The browser drops the lock whenever the
// page is hidden, so it is asked for again each time the page shows.
// Plain JavaScript so that the panel's wasm does not carry it.
(() => {
  if (!("wakeLock" in navigator)) return;
  let lock = null;
  const ask = async () => {
    if (document.visibilityState !== "visible" || (lock && !lock.released)) return;
    try {
      lock = await navigator.wakeLock.request("screen");
      document.documentElement.dataset.wakeLock = "held";
      lock.addEventListener("release", () => {
        document.documentElement.dataset.wakeLock = "released";
      });
    } catch (e) {
      // Refused (battery saver, no user gesture yet): try again on the next touch.
      document.documentElement.dataset.wakeLock = "refused";
    }
  };
  document.addEventListener("visibilitychange", ask);
  document.addEventListener("pointerdown", ask, { passive: true });
  ask();
})();
