/** Renders the operator-facing list of error codes (docs/errors.md) from the registry. */
import { ERROR_CODE_TABLES } from './errors.js';

export function renderErrorDocs(): string {
  const lines: string[] = [
    '# directord error codes',
    '',
    'Generated from `src/core/error-codes/` by `npm run docs:errors`; do not edit by hand.',
    'Every error directord reports carries one of these codes. Scripts should match on the code,',
    'not on the message. The exit status is what a command ends with when this error stops it.',
    '',
  ];
  for (const [module, table] of Object.entries(ERROR_CODE_TABLES)) {
    lines.push(`## ${module}`, '');
    lines.push('| code | message | hint | exit |', '|---|---|---|---|');
    for (const [code, spec] of Object.entries(table)) {
      const esc = (s: string) => s.replace(/\|/g, '\\|');
      lines.push(`| \`${code}\` | ${esc(spec.message)} | ${esc(spec.hint)} | ${spec.exitStatus} |`);
    }
    lines.push('');
  }
  return lines.join('\n');
}
