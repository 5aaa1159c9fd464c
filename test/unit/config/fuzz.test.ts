/**
 * Property test: random and mutated config text never crashes either reader. Every failure is a
 * coded DIR_ERR_CONFIG_* problem located inside the input (line within the text, column within
 * that line), and no internal error escapes.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { parseConfigText } from '../../../src/config/load.js';
import type { ConfigFormat } from '../../../src/config/load.js';
import { fakeResolver } from './helpers.js';

const CONF = fileURLToPath(new URL('../../../conf/', import.meta.url));
const FILE = '/nonexistent-fuzz-dir/fuzz.cf';
const CF_SEEDS = ['http-negotiate.cf', 'udp-dns.cf', 'fwmark.cf', 'quiescent-drain.cf'].map((f) => readFileSync(CONF + f, 'utf8')).concat([
  'virtual6=[2001:db8::5]:119\n\treal6=[2001:db8::6]:119 masq\n\tfallback6=[::1]:119\n\tpersistent=300\n\tnetmask=64\n',
  'virtual=10.0.0.1:80\n\treal=10.0.1.1->10.0.1.9:80 gate 5 "a.html", "OK" l:10 u:20\n\tchecktype=3\n',
]);
const TOML_SEED = readFileSync(`${CONF}two-director.toml`, 'utf8').replace(/^include = .*$/m, '');
const PIECES = ['#', '"', '=', '\t', ' ', '    ', '\n', '\r\n', '[', ']', '[[', ']]', ':', '->', '0', '9', '65536', 'gate', 'virtual=', '\treal=', 'a', '{', '}', ',', '.', '-', '\\', "'''", '"""'];

async function check(text: string, format: ConfigFormat): Promise<void> {
  const file = format === 'toml' ? FILE.replace('.cf', '.toml') : FILE;
  const r = await parseConfigText(text, file, format, { resolveHost: fakeResolver, hostname: 'fuzz', checkPaths: false });
  const lines = text.split('\n');
  const problems = r.ok ? r.warnings : [...r.errors, ...r.warnings];
  for (const p of problems) {
    assert.match(p.code, /^DIR_ERR_CONFIG_/, p.format());
    assert.notEqual(p.code, 'DIR_ERR_CONFIG_INTERNAL', p.format());
    assert.ok(p.severity === 'error' || p.severity === 'warning');
    assert.ok(p.hint.length > 0);
    if (p.location.file !== file) continue; // an include of some other file
    assert.ok(p.location.line >= 1 && p.location.line <= Math.max(1, lines.length), `line out of range: ${p.format()}`);
    const lineText = lines[p.location.line - 1] ?? '';
    assert.ok(p.location.column >= 1 && p.location.column <= lineText.length + 1, `column out of range: ${p.format()} in ${JSON.stringify(lineText)}`);
  }
  if (!r.ok) assert.ok(r.errors.length > 0);
}

type Mutation = { kind: 'insert' | 'delete' | 'dupline' | 'swap'; at: number; piece: string };
const mutation: fc.Arbitrary<Mutation> = fc.record({
  kind: fc.constantFrom('insert', 'delete', 'dupline', 'swap'),
  at: fc.nat(),
  piece: fc.constantFrom(...PIECES),
});

function mutate(seed: string, ms: readonly Mutation[]): string {
  let s = seed;
  for (const m of ms) {
    const i = s.length === 0 ? 0 : m.at % (s.length + 1);
    if (m.kind === 'insert') s = s.slice(0, i) + m.piece + s.slice(i);
    else if (m.kind === 'delete') s = s.slice(0, i) + s.slice(i + 1 + (m.at % 7));
    else {
      const lines = s.split('\n');
      const a = m.at % lines.length;
      const b = (m.at >> 3) % lines.length;
      if (m.kind === 'dupline') lines.splice(a, 0, lines[a] as string);
      else [lines[a], lines[b]] = [lines[b] as string, lines[a] as string];
      s = lines.join('\n');
    }
  }
  return s;
}

describe('config: property tests (fast-check)', function () {
  this.timeout(30_000);

  it('random text never crashes the ldirectord.cf reader', async () => {
    await fc.assert(fc.asyncProperty(fc.string({ unit: 'binary', maxLength: 300 }), (t) => check(t, 'ldirectord')), { numRuns: 300 });
  });

  it('random pieces of ldirectord syntax never crash it', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.constantFrom(...PIECES, 'checktype=', 'quiescent=yes', '10.0.0.1', ':80', 'fallback=', 'netmask=', 'virtual6=', '\treal6=[::1]'), { maxLength: 60 }), (parts) =>
        check(parts.join(''), 'ldirectord'),
      ),
      { numRuns: 300 },
    );
  });

  it('mutated ldirectord.cf files never crash it', async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...CF_SEEDS), fc.array(mutation, { minLength: 1, maxLength: 8 }), (seed, ms) => check(mutate(seed, ms), 'ldirectord')),
      { numRuns: 300 },
    );
  });

  it('random text never crashes the TOML reader', async () => {
    await fc.assert(fc.asyncProperty(fc.string({ unit: 'binary', maxLength: 300 }), (t) => check(t, 'toml')), { numRuns: 300 });
  });

  it('mutated director.toml never crashes it', async () => {
    await fc.assert(fc.asyncProperty(fc.array(mutation, { minLength: 1, maxLength: 6 }), (ms) => check(mutate(TOML_SEED, ms), 'toml')), { numRuns: 150 });
  });
});
