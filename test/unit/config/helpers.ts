/** Shared helpers for the config tests: a DNS-free resolver and short-hand loaders. */
import assert from 'node:assert/strict';
import { parseConfigText } from '../../../src/config/load.js';
import type { ConfigLoadResult } from '../../../src/config/load.js';
import type { ClusterConfig, VirtualServiceConfig } from '../../../src/config/model.js';
import type { ConfigProblem } from '../../../src/config/problems.js';

/** A fixed host table standing in for DNS. */
export const HOSTS: Readonly<Record<string, { 4?: string; 6?: string }>> = {
  localhost: { 4: '127.0.0.1', 6: '::1' },
  sql01: { 4: '10.1.1.1' },
  sql02: { 4: '10.1.1.2' },
  sql03: { 4: '10.1.1.3' },
  'www.example.com': { 4: '192.0.2.80', 6: '2001:db8::80' },
  'mail.example.com': { 4: '192.0.2.25' },
  web6: { 6: '2001:db8::10' },
};

export async function fakeResolver(name: string, family: 4 | 6): Promise<string | undefined> {
  return HOSTS[name]?.[family];
}

export const OPTIONS = { resolveHost: fakeResolver, hostname: 'director1', checkPaths: true } as const;

export function cf(text: string, file = 'test.cf'): Promise<ConfigLoadResult> {
  return parseConfigText(text, file, 'ldirectord', OPTIONS);
}

export function tomlText(text: string, file = '/tmp/directord-test/test.toml'): Promise<ConfigLoadResult> {
  return parseConfigText(text, file, 'toml', OPTIONS);
}

/** Asserts the load succeeded and returns the config. */
export function ok(r: ConfigLoadResult): ClusterConfig {
  if (!r.ok) assert.fail(`expected a valid config, got:\n${r.errors.map((e) => e.format()).join('\n')}`);
  return r.config;
}

export async function cfOk(text: string): Promise<ClusterConfig> {
  return ok(await cf(text));
}

export function only(config: ClusterConfig): VirtualServiceConfig {
  assert.equal(config.virtualServices.length, 1, 'expected exactly one virtual service');
  return config.virtualServices[0] as VirtualServiceConfig;
}

/** Asserts the load failed with `code` at `line` and returns that error. */
export function err(r: ConfigLoadResult, code: string, line?: number): ConfigProblem {
  if (r.ok) assert.fail(`expected ${code}, but the config loaded (warnings: ${r.warnings.map((w) => w.code).join(', ') || 'none'})`);
  const hit = r.errors.find((e) => e.code === code && (line === undefined || e.location.line === line));
  if (!hit) assert.fail(`expected ${code}${line !== undefined ? ` at line ${line}` : ''}, got:\n${r.errors.map((e) => e.format()).join('\n')}`);
  return hit;
}

export function warned(r: ConfigLoadResult, code: string, line?: number): ConfigProblem {
  const hit = r.warnings.find((w) => w.code === code && (line === undefined || w.location.line === line));
  if (!hit) assert.fail(`expected warning ${code}${line !== undefined ? ` at line ${line}` : ''}, got: ${r.warnings.map((w) => `${w.code}@${w.location.line}`).join(', ') || 'none'}`);
  return hit;
}

export function noWarnings(r: ConfigLoadResult): void {
  assert.deepEqual(r.warnings.map((w) => w.format()), []);
}
