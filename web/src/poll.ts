// Refreshes a page's data on a timer with back-off.
//
// Polling, not SSE: every Spin request runs in a fresh, short-lived component instance, so the
// app cannot hold a response open to push events; a cheap GET every few seconds is the honest fit.
// (The terminal's live stream goes through the hub's WebSocket instead.)

const BASE_MS = 3_000;
const MAX_MS = 30_000;

export interface Poller {
  /** The first run, started at once. */
  first: Promise<void>;
  /** Runs the task now (after an action) and restarts the timer. */
  now(): Promise<void>;
  stop(): void;
}

/**
 * Runs `task` now and then every 3 s while the tab is visible; the delay doubles up to 30 s
 * after each failure or while the tab is hidden, and drops back on success or when the tab shows.
 */
export function poll(task: () => Promise<void>): Poller {
  let delay = BASE_MS;
  let timer: number | undefined;
  let stopped = false;
  let running: Promise<void> | null = null;

  const schedule = () => {
    window.clearTimeout(timer);
    if (!stopped) timer = window.setTimeout(() => void run(), delay);
  };
  const run = (): Promise<void> => {
    if (running) return running;
    window.clearTimeout(timer);
    running = task().then(
      () => {
        delay = document.hidden ? Math.min(delay * 2, MAX_MS) : BASE_MS;
      },
      () => {
        delay = Math.min(delay * 2, MAX_MS);
      },
    ).finally(() => {
      running = null;
      schedule();
    });
    return running;
  };
  const onVisibility = () => {
    if (document.hidden) return;
    delay = BASE_MS;
    void run();
  };
  document.addEventListener('visibilitychange', onVisibility);
  const first = run();
  return {
    first,
    now: () => (running ? running.then(run) : run()),
    stop() {
      stopped = true;
      window.clearTimeout(timer);
      document.removeEventListener('visibilitychange', onVisibility);
    },
  };
}
