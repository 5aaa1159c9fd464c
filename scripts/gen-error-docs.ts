// Regenerates docs/errors.md from the DIR_ERR_* registry (`npm run docs:errors`).
// test/unit/core/errors.test.ts fails when the file is out of date.
import { writeFileSync } from 'node:fs';
import { renderErrorDocs } from '../src/core/error-docs.js';

writeFileSync(new URL('../docs/errors.md', import.meta.url), renderErrorDocs());
console.log('docs/errors.md written');
