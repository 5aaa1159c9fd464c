#!/usr/bin/env node
// directord: the daemon. TypeScript sources run through tsx's loader (a runtime dependency), so
// the installed tree is the source tree and stack traces point at real lines.
import { register } from 'tsx/esm/api';

register();
await import('../src/daemon/main.ts');
