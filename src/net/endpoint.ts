// `host:port` endpoints as the config writes them.

export interface HostPort {
  /** Undefined when the endpoint names no host (`:4318`): listen on every interface. */
  host: string | undefined;
  port: number;
}

/**
 * Parses `host:port`, `[v6]:port` or `:port`. Port 0 asks for an ephemeral port.
 * Throws an Error naming the endpoint when it is not of that shape.
 */
export function parseEndpoint(endpoint: string): HostPort {
  const m = /^(?:\[([0-9a-fA-F:.%a-zA-Z]+)\]|([^:\[\]]*)):(\d{1,5})$/.exec(endpoint.trim());
  if (!m) throw new Error(`invalid endpoint "${endpoint}": expected host:port`);
  const port = Number(m[3]);
  if (port > 65535) throw new Error(`invalid endpoint "${endpoint}": port out of range`);
  const host = m[1] ?? m[2];
  return { host: host === '' ? undefined : host, port };
}

/** `host:port`, with IPv6 hosts in brackets. */
export function formatHostPort(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}
