// Panel pages only (app/src/panel.rs): keeps the screen on while the panel
// is shown, where the browser offers the Screen Wake Lock API (a secure
// context: https, or localhost). The browser drops the lock whenever the
// page is hidden, so it is asked for again each time the page shows, and at
// the next touch after a refusal or a release by the system (battery saver).
// One request at a time: a page shown and touched at once asks once.
// Plain JavaScript so that the panel's wasm does not carry it.
// Tested in end2end/tests/wakelock.spec.ts.
(() => {
  if (!("wakeLock" in navigator)) return;
  let lock = null;
  let asking = false;
  const ask = async () => {
    if (asking || document.visibilityState !== "visible" || (lock && !lock.released)) return;
    asking = true;
    try {
      lock = await navigator.wakeLock.request("screen");
      document.documentElement.dataset.wakeLock = "held";
      lock.addEventListener("release", () => {
        document.documentElement.dataset.wakeLock = "released";
      });
    } catch (e) {
      // Refused (battery saver, no user gesture yet): try again on the next touch.
      document.documentElement.dataset.wakeLock = "refused";
    } finally {
      asking = false;
    }
  };
  document.addEventListener("visibilitychange", ask);
  document.addEventListener("pointerdown", ask, { passive: true });
  ask();
})();
