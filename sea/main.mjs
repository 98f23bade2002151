// Entry of the single executable (sea/build.mjs bundles it with everything it imports): hands the
// core the release .wasm stored as a SEA asset, then runs the sidecar exactly as bin/spanmeter.js
// (young generation kept small first).
import { getAsset } from 'node:sea';
import { provideWasm } from '../dist/src/core/wasm.js';
import { keepHeapSmall } from '../dist/src/net/memory.js';

keepHeapSmall();
provideWasm('release', new Uint8Array(getAsset('spanmeter.wasm')));
// Imported only now, so the core is provided before the sidecar starts (the bundle inlines it).
import('../dist/src/cli.js');
