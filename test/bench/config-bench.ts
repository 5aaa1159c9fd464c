/**
 * `npm run bench:config`: generate a 5,000-virtual ldirectord.cf with 4 reals each, parse and
 * validate it, and print one JSON line with the timings (the last line of output).
 * Names are numeric so no DNS is involved; paths are not checked on disk.
 */
import { performance } from 'node:perf_hooks';
import { readLdirectordConfig } from '../../src/config/ldirectord.js';
import { ProblemSink } from '../../src/config/problems.js';
import { deepFreeze, validateConfig } from '../../src/config/validate.js';

const VIRTUALS = 5000;
const REALS_PER_VIRTUAL = 4;

function generate(): string {
  const lines: string[] = ['checktimeout=5', 'negotiatetimeout=10', 'checkinterval=5', 'quiescent=yes', ''];
  for (let v = 0; v < VIRTUALS; v++) {
    const vip = `10.${100 + Math.floor(v / 250)}.${v % 250}.1`;
    lines.push(`virtual=${vip}:${v % 2 === 0 ? 80 : 443}`);
    for (let r = 0; r < REALS_PER_VIRTUAL; r++) {
      lines.push(`\treal=172.16.${v % 250}.${10 + r}:8080 masq ${r + 1}`);
    }
    lines.push('\trequest="health"', '\treceive="OK"', '\tscheduler=wlc', '\tpersistent=300', '');
  }
  return lines.join('\n');
}

const genStart = performance.now();
const text = generate();
const genMs = performance.now() - genStart;

const sink = new ProblemSink();
const cpuStart = process.cpuUsage();
const parseStart = performance.now();
const config = await readLdirectordConfig(text, 'bench.cf', sink, { checkPaths: false, hostname: 'bench' });
const parseMs = performance.now() - parseStart;
const validateStart = performance.now();
validateConfig(config, sink, { file: 'bench.cf', line: 1, column: 1 });
deepFreeze(config);
const validateMs = performance.now() - validateStart;
// CPU time too: on a shared, loaded host wall time mostly measures the queue for a CPU.
const cpu = process.cpuUsage(cpuStart);

if (sink.errors.length > 0) {
  console.error(sink.errors.slice(0, 5).map((e) => e.format()).join('\n'));
  process.exitCode = 1;
}
const reals = config.virtualServices.reduce((n, v) => n + v.reals.length, 0);
console.log(
  JSON.stringify({
    virtuals: config.virtualServices.length,
    reals,
    bytes: text.length,
    generate_ms: Math.round(genMs),
    parse_ms: Math.round(parseMs),
    validate_ms: Math.round(validateMs),
    total_ms: Math.round(parseMs + validateMs),
    cpu_ms: Math.round((cpu.user + cpu.system) / 1000),
    errors: sink.errors.length,
    warnings: sink.warnings.length,
  }),
);
