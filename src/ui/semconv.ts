// Attribute names that OpenTelemetry's semantic conventions renamed (the HTTP conventions made
// stable in 1.23, the database ones in 1.26 and later, messaging and network alike): a
// configured dimension that no span carries is often the other spelling of one that spans do
// carry. From the conventions' migration notes (HTTP: "HTTP semantic convention stability
// migration"; database: "Database semantic convention stability migration"), old → new.
const RENAMED: ReadonlyArray<readonly [string, string]> = [
  ['http.method', 'http.request.method'],
  ['http.status_code', 'http.response.status_code'],
  ['http.url', 'url.full'],
  ['http.target', 'url.path'],
  ['http.scheme', 'url.scheme'],
  ['http.user_agent', 'user_agent.original'],
  ['http.client_ip', 'client.address'],
  ['http.flavor', 'network.protocol.version'],
  ['net.host.name', 'server.address'],
  ['net.host.port', 'server.port'],
  ['net.peer.name', 'server.address'],
  ['net.peer.port', 'server.port'],
  ['net.sock.peer.addr', 'network.peer.address'],
  ['net.sock.peer.port', 'network.peer.port'],
  ['net.protocol.name', 'network.protocol.name'],
  ['net.protocol.version', 'network.protocol.version'],
  ['net.transport', 'network.transport'],
  ['db.name', 'db.namespace'],
  ['db.statement', 'db.query.text'],
  ['db.operation', 'db.operation.name'],
  ['db.system', 'db.system.name'],
  ['messaging.destination', 'messaging.destination.name'],
  ['messaging.operation', 'messaging.operation.type'],
  ['deployment.environment', 'deployment.environment.name'],
];

/** The other spellings of an attribute name: its newer name(s), or the older one(s) it replaced. */
export function otherSpellings(attribute: string): { newer: string[]; older: string[] } {
  return {
    newer: RENAMED.filter(([o]) => o === attribute).map(([, n]) => n),
    older: RENAMED.filter(([, n]) => n === attribute).map(([o]) => o),
  };
}

/** The sentence for a configured dimension that none of `spans` spans (or: no span so far) carried. */
export function unusedDimensionWarning(attribute: string, spans?: number): string {
  const { newer, older } = otherSpellings(attribute);
  const head = spans === undefined ? `No span so far carried the dimension ${attribute}` : `No span of the ${spans} so far carried the dimension ${attribute}`;
  if (newer.length > 0) return `${head}: current semantic conventions call it ${newer.join(' or ')} (processor.span_metrics.dimensions).`;
  if (older.length > 0) return `${head}: SDKs on semantic conventions before its rename send ${older.join(' or ')} (processor.span_metrics.dimensions).`;
  return `${head}: check its spelling against your spans' attributes (looked up on the resource, then the span).`;
}
