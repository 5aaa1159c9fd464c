#!/usr/bin/env node
// directorctl: the admin CLI (see bin/directord.js for why tsx is registered here).
import { register } from 'tsx/esm/api';

register();
await import('../src/cli/main.ts');
