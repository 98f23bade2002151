// The OTLP/gRPC receiver's HTTP/2 connections and the Collector's (grpc-go's) keepalive rules for
// them (issue 21 item 3): keepalive.server_parameters (max_connection_idle: GOAWAY to a connection
// without a call for that long; max_connection_age: GOAWAY to one that old, then cut after
// max_connection_age_grace) and keepalive.enforcement_policy (min_time, permit_without_stream).
// Ping enforcement follows grpc-go's server (internal/transport/http2_server.go, handlePing): a
// ping earns a strike when it comes sooner than min_time after the previous one (or sooner than
// two hours without a call in flight, unless permit_without_stream), strikes are forgiven each
// time the server sends headers or data, and the third strike past two ends the connection with
// GOAWAY ENHANCE_YOUR_CALM and the debug data "too_many_pings".
import type { GrpcKeepaliveConfig } from '../config/types.js';
import type { Watch, Watchdog } from '../net/watchdog.js';

/** grpc-go's maxPingStrikes: more strikes than this end the connection. */
export const MAX_PING_STRIKES = 2;
/** grpc-go's defaultPingTimeout: a ping without calls in flight sooner than this is a strike (without permit_without_stream). */
const PING_WITHOUT_CALLS_MS = 2 * 3600_000;

/** An HTTP/2 connection as the keepalive rules act on it (node:http2's session, or grpc-h2c.ts's connection). */
export interface KeptConnection {
  /** GOAWAY (NO_ERROR): no new calls; the calls in flight finish. */
  close(): void;
  /** Cuts the connection now (its calls are cancelled). */
  destroy(): void;
  /** GOAWAY ENHANCE_YOUR_CALM with the debug data "too_many_pings", then cut. */
  calm(): void;
  readonly destroyed: boolean;
  readonly remoteAddress: string | undefined;
}

interface SessionState {
  calls: number;
  /** max_connection_idle's watch while no call is open (on the receiver's watchdog: it is re-set per call). */
  idle?: Watch;
  lastPingAt: number;
  strikes: number;
  /** Headers or data were sent since the last ping: the next one is forgiven. */
  wrote: boolean;
  ageTimer?: NodeJS.Timeout;
  graceTimer?: NodeJS.Timeout;
}

export class GrpcSessions {
  private readonly sessions = new Map<KeptConnection, SessionState>();

  constructor(
    private readonly keepalive: GrpcKeepaliveConfig,
    private readonly watchdog: Watchdog,
    /** Called when a connection is ended for its pings (counted and logged by the receiver). */
    private readonly onTooManyPings: (connection: KeptConnection) => void,
  ) {}

  get size(): number {
    return this.sessions.size;
  }

  /** Starts watching a new connection; the transport calls ping() for each PING and removed() when it closes. */
  add(session: KeptConnection): void {
    const state: SessionState = { calls: 0, lastPingAt: -Infinity, strikes: 0, wrote: false };
    this.sessions.set(session, state);
    const { max_connection_age: age, max_connection_age_grace: grace } = this.keepalive.server_parameters;
    if (age > 0) {
      // grpc-go adds ±10% jitter so that connections made together do not all go at once.
      state.ageTimer = setTimeout(() => {
        session.close();
        state.graceTimer = setTimeout(() => session.destroy(), grace);
        state.graceTimer.unref();
      }, age * (0.9 + 0.2 * Math.random()));
      state.ageTimer.unref();
    }
    this.armIdle(session, state);
  }

  /** The connection closed. */
  removed(session: KeptConnection): void {
    const state = this.sessions.get(session);
    if (!state) return;
    this.watchdog.stop(state.idle);
    clearTimeout(state.ageTimer);
    clearTimeout(state.graceTimer);
    this.sessions.delete(session);
  }

  /** A PING (not an ACK) came on the connection. */
  ping(session: KeptConnection): void {
    const state = this.sessions.get(session);
    if (state) this.strike(session, state);
  }

  /** A call opened on `session`. */
  opened(session: KeptConnection): void {
    const state = this.sessions.get(session);
    if (!state) return;
    state.calls++;
    this.watchdog.stop(state.idle);
    state.idle = undefined;
  }

  /** A call on `session` closed. */
  closed(session: KeptConnection): void {
    const state = this.sessions.get(session);
    if (!state) return;
    state.calls--;
    if (state.calls === 0) this.armIdle(session, state);
  }

  /** The server sent headers or data on `session`: its ping strikes are forgiven at the next ping. */
  wrote(session: KeptConnection | undefined): void {
    const state = session && this.sessions.get(session);
    if (state) state.wrote = true;
  }

  /** GOAWAY to every connection (calls in flight finish). */
  closeAll(): void {
    for (const s of this.sessions.keys()) s.close();
  }

  /** Cuts every connection. */
  destroyAll(): void {
    for (const s of this.sessions.keys()) s.destroy();
  }

  private armIdle(session: KeptConnection, state: SessionState): void {
    const idle = this.keepalive.server_parameters.max_connection_idle;
    if (idle <= 0) return;
    this.watchdog.stop(state.idle);
    state.idle = this.watchdog.start(idle, () => session.close());
  }

  private strike(session: KeptConnection, state: SessionState): void {
    const now = Date.now();
    const last = state.lastPingAt;
    state.lastPingAt = now;
    if (state.wrote) {
      state.wrote = false;
      state.strikes = 0;
      return;
    }
    const { min_time: minTime, permit_without_stream: permit } = this.keepalive.enforcement_policy;
    const least = state.calls === 0 && !permit ? PING_WITHOUT_CALLS_MS : minTime;
    if (now - last < least) state.strikes++;
    if (state.strikes > MAX_PING_STRIKES && !session.destroyed) {
      this.onTooManyPings(session);
      session.calm();
    }
  }
}
