#!/usr/bin/env node
import { keepHeapSmall } from '../dist/src/net/memory.js';

keepHeapSmall();
// Imported only now, with the young generation kept small while the sidecar's modules load too.
await import('../dist/src/cli.js');
