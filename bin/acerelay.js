#!/usr/bin/env node
// The one process that runs acerelay: tsx's loader is registered in this process (no child
// process is forked), so a signal sent to this PID reaches the server itself.
import { register } from 'tsx/esm/api';

register();
await import('../src/cli.ts');
