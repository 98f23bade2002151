// What the web page shows and how (runs in the browser): the last answers of the API, the
// window, the selected service, and each table's sort and filter. Shared by app.ts (which polls)
// and the modules that draw (graph.ts, tables.ts, cards.ts).
import type { GraphResponse, HealthResponse, RedResponse, SlosResponse } from '../json.js';

const params = new URLSearchParams(location.search);

export interface Sort {
  key: string;
  desc: boolean;
}

export const state = {
  windowS: Number(params.get('window') ?? 60) || 60,
  selected: params.get('service') as string | null,
  paused: false,
  graph: undefined as GraphResponse | undefined,
  red: undefined as RedResponse | undefined,
  health: undefined as HealthResponse | undefined,
  slos: undefined as SlosResponse | undefined,
  svcSort: { key: 'rate', desc: true } as Sort,
  opSort: { key: 'rate', desc: true } as Sort,
  svcFilter: '',
  opFilter: '',
  /** The operations table's span kind (SPAN_KIND_…), '' = every kind. */
  opKind: params.get('kind') ?? '',
  timer: undefined as ReturnType<typeof setTimeout> | undefined,
  inFlight: false,
};
