/**
 * Time, injectable. Every timer in directord goes through a Clock so that state machines (VRRP,
 * rise/fall dampening, drain deadlines, schedulers) are tested by stepping time, not by sleeping.
 */

/** An opaque handle returned by setTimeout/setInterval. */
export interface TimerHandle {
  /** Cancels the timer; safe to call more than once. */
  cancel(): void;
  /** Lets the process exit while this timer is pending (real clock only; no-op for ManualClock). */
  unref(): TimerHandle;
}

/** The time source and timer factory every long-lived object receives. */
export interface Clock {
  /** Monotonic milliseconds (for intervals and deadlines). */
  now(): number;
  /** Wall-clock milliseconds since the epoch (for logs and state files). */
  wallNow(): number;
  setTimeout(fn: () => void, ms: number): TimerHandle;
  setInterval(fn: () => void, ms: number): TimerHandle;
}

/** The real clock: performance.now() and Node's timers. */
export class SystemClock implements Clock {
  now(): number {
    return performance.now();
  }

  wallNow(): number {
    return Date.now();
  }

  setTimeout(fn: () => void, ms: number): TimerHandle {
    const t = setTimeout(fn, Math.max(0, ms));
    return { cancel: () => clearTimeout(t), unref() { t.unref(); return this; } };
  }

  setInterval(fn: () => void, ms: number): TimerHandle {
    const t = setInterval(fn, Math.max(1, ms));
    return { cancel: () => clearInterval(t), unref() { t.unref(); return this; } };
  }
}

/** The process-wide real clock. */
export const systemClock: Clock = new SystemClock();

interface ManualTimer {
  readonly id: number;
  due: number;
  readonly fn: () => void;
  readonly every: number | undefined;
  cancelled: boolean;
}

/**
 * A clock that only moves when told to. Timers fire in due order (ties in creation order) during
 * advance(); a timer scheduled by a firing timer fires in the same advance() if it falls due.
 */
export class ManualClock implements Clock {
  private current: number;
  private wallOffset: number;
  private nextId = 1;
  private timers: ManualTimer[] = [];

  constructor(startMs = 0, wallStartMs = 1_700_000_000_000) {
    this.current = startMs;
    this.wallOffset = wallStartMs - startMs;
  }

  now(): number {
    return this.current;
  }

  wallNow(): number {
    return this.current + this.wallOffset;
  }

  setTimeout(fn: () => void, ms: number): TimerHandle {
    return this.add(fn, Math.max(0, ms), undefined);
  }

  setInterval(fn: () => void, ms: number): TimerHandle {
    return this.add(fn, Math.max(1, ms), Math.max(1, ms));
  }

  /** Number of timers still pending (tests assert nothing is left behind). */
  pendingTimers(): number {
    return this.timers.filter((t) => !t.cancelled).length;
  }

  /** Milliseconds until the next pending timer, or undefined if none. */
  nextDueIn(): number | undefined {
    const live = this.timers.filter((t) => !t.cancelled);
    if (live.length === 0) return undefined;
    return Math.min(...live.map((t) => t.due)) - this.current;
  }

  /** Moves time forward by ms, firing every timer that falls due, in order. */
  advance(ms: number): void {
    const target = this.current + ms;
    for (;;) {
      const next = this.popDue(target);
      if (!next) break;
      this.current = next.due;
      if (next.every !== undefined) {
        next.due += next.every;
        this.timers.push(next);
      }
      next.fn();
    }
    this.current = target;
  }

  /** Moves time to the next pending timer and fires it (and any others due at that instant). */
  advanceToNext(): boolean {
    const d = this.nextDueIn();
    if (d === undefined) return false;
    this.advance(Math.max(0, d));
    return true;
  }

  private add(fn: () => void, ms: number, every: number | undefined): TimerHandle {
    const timer: ManualTimer = { id: this.nextId++, due: this.current + ms, fn, every, cancelled: false };
    this.timers.push(timer);
    return {
      cancel: () => {
        timer.cancelled = true;
        this.timers = this.timers.filter((t) => t !== timer);
      },
      unref() {
        return this;
      },
    };
  }

  private popDue(target: number): ManualTimer | undefined {
    let best: ManualTimer | undefined;
    for (const t of this.timers) {
      if (t.cancelled || t.due > target) continue;
      if (!best || t.due < best.due || (t.due === best.due && t.id < best.id)) best = t;
    }
    if (best) this.timers = this.timers.filter((t) => t !== best);
    return best;
  }
}
