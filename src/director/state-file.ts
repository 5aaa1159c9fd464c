/**
 * The director's state file: last known health and operator overrides per (virtual, real) pair,
 * and the last fallbackcommand run per virtual. It lets a restart resume where the last process
 * stopped (HAProxy server-state-file; keepalived #187), so reals do not flap to full weight and
 * back (ldirectord's readdquiescent=no churn, ldirectord-spec 10.1 step 4).
 *
 * Written atomically: temp file in the same directory, fsync, rename over the old file, fsync the
 * directory. A missing, unreadable or damaged file means "start clean" with a warning.
 */
import { constants as fsConstants } from 'node:fs';
import { mkdir, open, readFile, rename, unlink } from 'node:fs/promises';
import { dirname } from 'node:path';
import { DirectorError } from '../core/errors.js';
import type { HealthStatus } from '../core/types.js';
import { decodeOverlay, overlayIsEmpty, type RuntimeOverlay } from './runtime-edits.js';
import type { LastCheck, RealOverride } from './status.js';

export const STATE_FILE_VERSION = 1;

/** What is kept for one pair, keyed by `<virtual id>/<real key>`. */
export interface PairRecord {
  readonly health: HealthStatus;
  readonly override?: RealOverride;
  readonly lastCheck?: LastCheck;
}

/** The file's content. */
export interface DirectorStateData {
  readonly version: typeof STATE_FILE_VERSION;
  /** Wall-clock ms of the write. */
  readonly savedAt: number;
  readonly pairs: Readonly<Record<string, PairRecord>>;
  /** Last fallbackcommand verb run per virtual id (so a restart still runs the matching "stop"). */
  readonly fallbackCommands: Readonly<Record<string, 'start' | 'stop'>>;
  /** ipvsadm-style runtime edits (src/director/runtime-edits.ts): they survive a restart. */
  readonly runtime?: RuntimeOverlay;
}

/** An empty state. */
export function emptyState(savedAt = 0): DirectorStateData {
  return { version: STATE_FILE_VERSION, savedAt, pairs: {}, fallbackCommands: {} };
}

const HEALTH: ReadonlySet<string> = new Set(['unknown', 'up', 'down']);

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function parseOverride(v: unknown): RealOverride | undefined {
  if (!isRecord(v)) return undefined;
  const since = v['since'];
  const by = v['by'];
  if (typeof since !== 'number' || typeof by !== 'string') return undefined;
  switch (v['kind']) {
    case 'disabled':
      return { kind: 'disabled', since, by };
    case 'weight': {
      const w = v['weight'];
      if (typeof w !== 'number' || !Number.isInteger(w) || w < 0 || w > 65535) return undefined;
      return { kind: 'weight', weight: w, since, by };
    }
    case 'drain': {
      const d = v['deadlineAt'];
      if (typeof d !== 'number') return undefined;
      return { kind: 'drain', deadlineAt: d, since, by };
    }
    default:
      return undefined;
  }
}

function parseLastCheck(v: unknown): LastCheck | undefined {
  if (!isRecord(v)) return undefined;
  const { ok, detail, durationMs, at } = v;
  if (typeof ok !== 'boolean' || typeof detail !== 'string' || typeof durationMs !== 'number' || typeof at !== 'number') return undefined;
  return { ok, detail, durationMs, at };
}

/** Validates parsed JSON; throws a reason string's error when the shape is wrong. */
export function decodeState(raw: unknown): DirectorStateData {
  if (!isRecord(raw)) throw new Error('not a JSON object');
  if (raw['version'] !== STATE_FILE_VERSION) throw new Error(`unsupported version ${String(raw['version'])}`);
  const pairsIn = raw['pairs'];
  if (!isRecord(pairsIn)) throw new Error('"pairs" is not an object');
  const pairs: Record<string, PairRecord> = {};
  for (const [key, value] of Object.entries(pairsIn)) {
    if (!isRecord(value) || typeof value['health'] !== 'string' || !HEALTH.has(value['health'])) continue;
    const override = parseOverride(value['override']);
    const lastCheck = parseLastCheck(value['lastCheck']);
    pairs[key] = {
      health: value['health'] as HealthStatus,
      ...(override ? { override } : {}),
      ...(lastCheck ? { lastCheck } : {}),
    };
  }
  const fallbackCommands: Record<string, 'start' | 'stop'> = {};
  const fcIn = raw['fallbackCommands'];
  if (isRecord(fcIn)) {
    for (const [key, value] of Object.entries(fcIn)) if (value === 'start' || value === 'stop') fallbackCommands[key] = value;
  }
  const savedAt = typeof raw['savedAt'] === 'number' ? raw['savedAt'] : 0;
  const runtime = raw['runtime'] !== undefined ? decodeOverlay(raw['runtime']) : undefined;
  return { version: STATE_FILE_VERSION, savedAt, pairs, fallbackCommands, ...(runtime && !overlayIsEmpty(runtime) ? { runtime } : {}) };
}

/** Reads the state file. Missing → empty with `missing: true`; damaged → empty with the reason. */
export async function loadStateFile(path: string): Promise<{ state: DirectorStateData; problem?: string; missing?: boolean }> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { state: emptyState(), missing: true };
    return { state: emptyState(), problem: (err as Error).message };
  }
  try {
    return { state: decodeState(JSON.parse(text)) };
  } catch (err) {
    return { state: emptyState(), problem: (err as Error).message };
  }
}

/** Writes the state atomically (temp + fsync + rename + directory fsync). */
export async function saveStateFile(path: string, state: DirectorStateData): Promise<void> {
  const dir = dirname(path);
  const tmp = `${path}.tmp-${process.pid}`;
  try {
    await mkdir(dir, { recursive: true, mode: 0o750 });
    const fh = await open(tmp, fsConstants.O_WRONLY | fsConstants.O_CREAT | fsConstants.O_TRUNC, 0o600);
    try {
      await fh.writeFile(`${JSON.stringify(state, null, 1)}\n`, 'utf8');
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, path);
    // The rename is durable only once the directory entry is on disk.
    const dh = await open(dir, fsConstants.O_RDONLY);
    try {
      await dh.sync().catch(() => undefined); // some filesystems refuse fsync on a directory
    } finally {
      await dh.close();
    }
  } catch (err) {
    await unlink(tmp).catch(() => undefined);
    throw new DirectorError('DIR_ERR_DIRECTOR_STATE_FILE', { path, reason: (err as Error).message }, { cause: err });
  }
}
