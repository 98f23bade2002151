#!/usr/bin/env node
import { keepYoungGenerationSmall } from '../dist/src/net/memory.js';

keepYoungGenerationSmall();
// Imported only now, with the young generation kept small while the sidecar's modules load too.
await import('../dist/src/cli.js');
