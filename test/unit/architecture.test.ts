// Enforces the module import table of ARCHITECTURE.md: an import edge between src/ modules that
// the table does not allow fails here, as does a third-party library imported outside its one home.
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const src = join(root, 'src');

/** module → modules it may import (itself always allowed). */
const ALLOWED: Record<string, readonly string[]> = {
  core: [],
  sys: ['core'],
  config: ['core'],
  health: ['core', 'sys', 'config'],
  vrrp: ['core', 'sys', 'config'],
  engine: ['core', 'sys'],
  director: ['core', 'config', 'health', 'vrrp', 'engine', 'sys'],
  control: ['core', 'director', 'engine', 'config', 'health', 'vrrp'],
  cli: ['core', 'config', 'control', 'engine', 'sys'],
  daemon: ['core', 'sys', 'config', 'health', 'vrrp', 'engine', 'director', 'control', 'cli'],
};

/** Third-party package → the only module directory (or file) allowed to import it. */
const LIBRARY_HOMES: Record<string, readonly string[]> = {
  got: ['src/health/'],
  ssh2: ['src/health/'],
  toml: ['src/config/toml.ts'],
  winston: ['src/daemon/logger.ts'],
  'node-cron': ['src/daemon/schedule.ts'],
};

function walk(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...walk(p));
    else if (p.endsWith('.ts')) out.push(p);
  }
  return out;
}

const IMPORT_RE = /(?:^|\n)\s*(?:import|export)\s[^'"]*?from\s*['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g;

function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const specs: string[] = [];
  for (const m of text.matchAll(IMPORT_RE)) specs.push((m[1] ?? m[2]) as string);
  return specs;
}

describe('architecture: module import table', () => {
  const files = walk(src);

  it('finds the src modules of the table', () => {
    const modules = new Set(files.map((f) => relative(src, f).split(sep)[0]));
    for (const m of ['core', 'config', 'engine', 'health', 'vrrp']) assert.ok(modules.has(m), `src/${m} exists`);
  });

  it('every src module is listed in the table', () => {
    for (const f of files) {
      const mod = relative(src, f).split(sep)[0] as string;
      if (mod.endsWith('.ts')) continue;
      assert.ok(ALLOWED[mod], `src/${mod} is not in ARCHITECTURE.md's table`);
    }
  });

  it('no import crosses an edge the table forbids', () => {
    const violations: string[] = [];
    for (const f of files) {
      const mod = relative(src, f).split(sep)[0] as string;
      for (const spec of importsOf(f)) {
        if (!spec.startsWith('.')) continue;
        const target = resolve(dirname(f), spec);
        const rel = relative(src, target);
        if (rel.startsWith('..')) {
          violations.push(`${relative(root, f)} imports ${spec} (outside src/)`);
          continue;
        }
        const targetMod = rel.split(sep)[0] as string;
        if (targetMod !== mod && !(ALLOWED[mod] ?? []).includes(targetMod)) {
          violations.push(`${relative(root, f)}: ${mod} → ${targetMod} (${spec})`);
        }
      }
    }
    assert.deepEqual(violations, []);
  });

  it('core imports only Node built-ins', () => {
    const bad: string[] = [];
    for (const f of files.filter((x) => relative(src, x).startsWith(`core${sep}`))) {
      for (const spec of importsOf(f)) {
        if (!spec.startsWith('.') && !spec.startsWith('node:')) bad.push(`${relative(root, f)}: ${spec}`);
      }
    }
    assert.deepEqual(bad, []);
  });

  it('each third-party library is imported only in its one home', () => {
    const bad: string[] = [];
    for (const f of files) {
      const rel = relative(root, f).split(sep).join('/');
      for (const spec of importsOf(f)) {
        const pkg = spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : (spec.split('/')[0] as string);
        const homes = LIBRARY_HOMES[pkg];
        if (homes && !homes.some((h) => rel === h || (h.endsWith('/') && rel.startsWith(h)))) bad.push(`${rel}: ${spec}`);
      }
    }
    assert.deepEqual(bad, []);
  });

  it('the checker detects a forbidden edge (self-test)', () => {
    const mod = 'engine';
    assert.ok(!(ALLOWED[mod] ?? []).includes('health'), 'engine must not import health');
    assert.ok(!(ALLOWED.health ?? []).includes('vrrp'), 'health must not import vrrp');
    assert.ok(!(ALLOWED.vrrp ?? []).includes('engine'), 'vrrp must not import engine');
  });
});
