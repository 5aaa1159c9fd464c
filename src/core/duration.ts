/**
 * Durations as operators write them: a bare number means seconds (ldirectord's checkinterval=10,
 * keepalived's advert_int 1), or a number with a unit: ms, s, m, h, d. Fractions are allowed
 * (advert_int 0.5). Results are milliseconds.
 */
import { DirectorError } from './errors.js';

const UNIT_MS: Readonly<Record<string, number>> = Object.freeze({ ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 });
const DURATION_RE = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?$/;

/** Parses a duration to milliseconds, or undefined. Negative values are never valid. */
export function tryParseDurationMs(input: string | number): number | undefined {
  if (typeof input === 'number') return Number.isFinite(input) && input >= 0 ? input * 1000 : undefined;
  const m = DURATION_RE.exec(input.trim());
  if (!m) return undefined;
  const unit = m[2] ?? 's';
  return Math.round(Number(m[1]) * (UNIT_MS[unit] as number) * 1000) / 1000;
}

/** Parses a duration to milliseconds; throws DIR_ERR_INVALID_DURATION. */
export function parseDurationMs(input: string | number): number {
  const ms = tryParseDurationMs(input);
  if (ms === undefined) throw new DirectorError('DIR_ERR_INVALID_DURATION', { input: String(input) });
  return ms;
}

/** Formats milliseconds compactly for humans: 250ms, 5s, 1.5s, 2m, 1h30m. */
export function formatDurationMs(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`;
  if (ms < 60_000) return `${Number((ms / 1000).toFixed(3))}s`;
  const parts: string[] = [];
  let rest = Math.round(ms / 1000);
  for (const [unit, secs] of [['d', 86400], ['h', 3600], ['m', 60], ['s', 1]] as const) {
    if (rest >= secs) {
      parts.push(`${Math.floor(rest / secs)}${unit}`);
      rest %= secs;
    }
  }
  return parts.join('');
}
