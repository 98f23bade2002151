// `npm run interop:build`: builds the interop peers (placeholder; the Collector build lands next).
console.log('otelcol: unavailable (not built yet)');
console.log('tempo-oracle: unavailable (not built yet)');
