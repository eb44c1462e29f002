// Inactivity: after idleSeconds - warnSeconds without a touch, key or input the page warns (with a
// countdown); after idleSeconds it clears itself. Any activity before then starts the wait again.

const ACTIVITY = ["pointerdown", "keydown", "input", "touchstart", "wheel"];

export class IdleTimer {
  constructor({ idleSeconds, warnSeconds, onWarn, onTick, onTimeout }) {
    this.idle = idleSeconds * 1000;
    this.warn = Math.min(warnSeconds, idleSeconds) * 1000;
    this.onWarn = onWarn;
    this.onTick = onTick;
    this.onTimeout = onTimeout;
    this.running = false;
    this.warning = false;
    this.timers = [];
    this.activity = () => {
      if (this.running && !this.warning) this.restart();
    };
    for (const type of ACTIVITY) window.addEventListener(type, this.activity, { capture: true, passive: true });
  }

  start() {
    this.running = true;
    this.restart();
  }

  stop() {
    this.running = false;
    this.warning = false;
    this.clear();
  }

  /** The person answered the warning: wait the whole time again. */
  resume() {
    this.warning = false;
    if (this.running) this.restart();
  }

  clear() {
    for (const timer of this.timers) {
      clearTimeout(timer);
      clearInterval(timer);
    }
    this.timers = [];
  }

  restart() {
    this.clear();
    const deadline = Date.now() + this.idle;
    this.timers.push(
      setTimeout(() => {
        this.warning = true;
        this.onWarn(Math.ceil((deadline - Date.now()) / 1000));
        this.timers.push(setInterval(() => this.onTick(Math.max(0, Math.ceil((deadline - Date.now()) / 1000))), 250));
      }, this.idle - this.warn),
      setTimeout(() => {
        this.stop();
        this.onTimeout();
      }, this.idle),
    );
  }
}
