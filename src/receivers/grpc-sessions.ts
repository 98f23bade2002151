// The OTLP/gRPC receiver's HTTP/2 connections and the Collector's (grpc-go's) keepalive rules for
// them (issue 21 item 3): keepalive.server_parameters (max_connection_idle: GOAWAY to a connection
// without a call for that long; max_connection_age: GOAWAY to one that old, then cut after
// max_connection_age_grace) and keepalive.enforcement_policy (min_time, permit_without_stream).
// Ping enforcement follows grpc-go's server (internal/transport/http2_server.go, handlePing): a
// ping earns a strike when it comes sooner than min_time after the previous one (or sooner than
// two hours without a call in flight, unless permit_without_stream), strikes are forgiven each
// time the server sends headers or data, and the third strike past two ends the connection with
// GOAWAY ENHANCE_YOUR_CALM and the debug data "too_many_pings".
import http2 from 'node:http2';
import type { GrpcKeepaliveConfig } from '../config/types.js';
import type { Watch, Watchdog } from '../net/watchdog.js';

/** grpc-go's maxPingStrikes: more strikes than this end the connection. */
export const MAX_PING_STRIKES = 2;
/** grpc-go's defaultPingTimeout: a ping without calls in flight sooner than this is a strike (without permit_without_stream). */
const PING_WITHOUT_CALLS_MS = 2 * 3600_000;

const { NGHTTP2_ENHANCE_YOUR_CALM, NGHTTP2_CANCEL } = http2.constants;

interface SessionState {
  calls: number;
  /** max_connection_idle's watch while no call is open (on the receiver's watchdog: it is re-set per call). */
  idle?: Watch;
  lastPingAt: number;
  strikes: number;
  /** Headers or data were sent since the last ping: the next one is forgiven. */
  wrote: boolean;
}

export class GrpcSessions {
  private readonly sessions = new Map<http2.Http2Session, SessionState>();

  constructor(
    private readonly keepalive: GrpcKeepaliveConfig,
    private readonly watchdog: Watchdog,
    /** Called when a connection is ended for its pings (counted and logged by the receiver). */
    private readonly onTooManyPings: (session: http2.Http2Session) => void,
  ) {}

  get size(): number {
    return this.sessions.size;
  }

  /** Starts watching a new connection. */
  add(session: http2.Http2Session): void {
    const state: SessionState = { calls: 0, lastPingAt: -Infinity, strikes: 0, wrote: false };
    this.sessions.set(session, state);
    session.on('error', () => {});
    const { max_connection_age: age, max_connection_age_grace: grace } = this.keepalive.server_parameters;
    let ageTimer: NodeJS.Timeout | undefined;
    let graceTimer: NodeJS.Timeout | undefined;
    if (age > 0) {
      // grpc-go adds ±10% jitter so that connections made together do not all go at once.
      ageTimer = setTimeout(() => {
        session.close();
        graceTimer = setTimeout(() => session.destroy(undefined, NGHTTP2_CANCEL), grace);
        graceTimer.unref();
      }, age * (0.9 + 0.2 * Math.random()));
      ageTimer.unref();
    }
    session.on('ping', () => this.ping(session, state));
    session.once('close', () => {
      this.watchdog.stop(state.idle);
      clearTimeout(ageTimer);
      clearTimeout(graceTimer);
      this.sessions.delete(session);
    });
    this.armIdle(session, state);
  }

  /** A call opened on `session`. */
  opened(session: http2.Http2Session): void {
    const state = this.sessions.get(session);
    if (!state) return;
    state.calls++;
    this.watchdog.stop(state.idle);
    state.idle = undefined;
  }

  /** A call on `session` closed. */
  closed(session: http2.Http2Session): void {
    const state = this.sessions.get(session);
    if (!state) return;
    state.calls--;
    if (state.calls === 0) this.armIdle(session, state);
  }

  /** The server sent headers or data on `session`: its ping strikes are forgiven at the next ping. */
  wrote(session: http2.Http2Session | undefined): void {
    const state = session && this.sessions.get(session);
    if (state) state.wrote = true;
  }

  /** GOAWAY to every connection (calls in flight finish). */
  closeAll(): void {
    for (const s of this.sessions.keys()) s.close();
  }

  /** Cuts every connection. */
  destroyAll(): void {
    for (const s of this.sessions.keys()) s.destroy(undefined, NGHTTP2_CANCEL);
  }

  private armIdle(session: http2.Http2Session, state: SessionState): void {
    const idle = this.keepalive.server_parameters.max_connection_idle;
    if (idle <= 0) return;
    this.watchdog.stop(state.idle);
    state.idle = this.watchdog.start(idle, () => session.close());
  }

  private ping(session: http2.Http2Session, state: SessionState): void {
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
      session.goaway(NGHTTP2_ENHANCE_YOUR_CALM, 0, Buffer.from('too_many_pings'));
      // A moment for the GOAWAY to leave before the socket goes.
      setTimeout(() => session.destroy(), 100).unref();
    }
  }
}
