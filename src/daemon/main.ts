/**
 * directord's entry point: runs the command line with process.argv when imported
 * (bin/directord.js imports this module; `npm run demo` has its own entry in ./demo.ts).
 */
import { main } from './command-line.js';

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
    // Everything the daemon started is closed by now; a stray handle (a late timer in a library)
    // must not keep a stopped daemon alive, so exit shortly after unless the loop empties first.
    setTimeout(() => process.exit(code), 500).unref();
  },
  (error: unknown) => {
    process.stderr.write(`directord: internal error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(70);
  },
);
