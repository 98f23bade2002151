// A layered layout for the service graph (runs in the browser and in tests; no imports).
//
// Service graphs mostly flow one way (users → edge services → backends → databases), so nodes
// go in columns by the longest path from a source (cycles are broken where a depth-first walk
// meets them), and each column is ordered to keep edges short and uncrossed (barycenter sweeps).
// Stability: positions depend on the topology only, never on rates or arrival order within it,
// so new numbers never move anything. When the topology changes, the previous placement is
// kept: nodes that stay in their column keep their relative order, and new ones are inserted
// where their neighbours pull them.

export interface Placement {
  /** Column, from 0. */
  rank: number;
  /** Position within the column, from 0 (top). */
  order: number;
}

export interface PlacedNode extends Placement {
  /** Centre of the node. */
  x: number;
  y: number;
}

export interface LayoutOptions {
  /** The previous layout's placements, to stay close to. */
  previous?: ReadonlyMap<string, Placement>;
  /** Distance between column centres. */
  columnGap?: number;
  /** Distance between row centres. */
  rowGap?: number;
  /** Space around the drawing, to node centres. */
  marginX?: number;
  marginY?: number;
  /** Barycenter sweeps for a fresh layout. */
  sweeps?: number;
}

export interface Layout {
  nodes: Map<string, PlacedNode>;
  width: number;
  height: number;
  ranks: number;
}

/** Places `nodes` (ids) connected by directed `edges` (source, target). Deterministic. */
export function layoutGraph(nodeIds: readonly string[], edgeList: ReadonlyArray<readonly [string, string]>, options: LayoutOptions = {}): Layout {
  const columnGap = options.columnGap ?? 240;
  const rowGap = options.rowGap ?? 84;
  const marginX = options.marginX ?? 100;
  const marginY = options.marginY ?? 50;
  const ids = [...new Set(nodeIds)].sort();
  const index = new Map(ids.map((id, i) => [id, i]));
  const n = ids.length;
  const succ: number[][] = ids.map(() => []);
  const pred: number[][] = ids.map(() => []);
  const seen = new Set<string>();
  const pairs: [number, number][] = [];
  for (const [s, t] of edgeList) {
    const a = index.get(s);
    const b = index.get(t);
    if (a === undefined || b === undefined || a === b) continue;
    const key = `${a} ${b}`;
    if (seen.has(key)) continue;
    seen.add(key);
    pairs.push([a, b]);
  }
  pairs.sort((p, q) => p[0] - q[0] || p[1] - q[1]);
  for (const [a, b] of pairs) {
    succ[a]!.push(b);
    pred[b]!.push(a);
  }

  // 1. Break cycles: a depth-first walk from the sources (then from whatever is left) drops the
  //    edges that lead back to a node on its path.
  const state = new Uint8Array(n); // 0 new, 1 on the path, 2 done
  const dropped = new Set<string>();
  const discovery: number[] = [];
  const visit = (root: number): void => {
    const stack: [number, number][] = [[root, 0]];
    state[root] = 1;
    discovery.push(root);
    while (stack.length > 0) {
      const top = stack[stack.length - 1]!;
      const [v, i] = top;
      if (i < succ[v]!.length) {
        top[1]++;
        const w = succ[v]![i]!;
        if (state[w] === 1) dropped.add(`${v} ${w}`);
        else if (state[w] === 0) {
          state[w] = 1;
          discovery.push(w);
          stack.push([w, 0]);
        }
      } else {
        state[v] = 2;
        stack.pop();
      }
    }
  };
  for (let v = 0; v < n; v++) if (pred[v]!.length === 0 && state[v] === 0) visit(v);
  for (let v = 0; v < n; v++) if (state[v] === 0) visit(v);
  const forward = (a: number, b: number) => !dropped.has(`${a} ${b}`);

  // 2. Ranks: the longest path from a source (Kahn's order over the acyclic edges).
  const rank = new Array<number>(n).fill(0);
  const indeg = ids.map((_, v) => pred[v]!.filter((u) => forward(u, v)).length);
  const queue: number[] = [];
  for (let v = 0; v < n; v++) if (indeg[v] === 0) queue.push(v);
  for (let qi = 0; qi < queue.length; qi++) {
    const v = queue[qi]!;
    for (const w of succ[v]!) {
      if (!forward(v, w)) continue;
      rank[w] = Math.max(rank[w]!, rank[v]! + 1);
      if (--indeg[w]! === 0) queue.push(w);
    }
  }
  // Pull a source next to its first successor (a lone client of a deep service does not sit in column 0).
  for (let v = 0; v < n; v++) {
    if (pred[v]!.length > 0 || succ[v]!.length === 0) continue;
    const lowest = Math.min(...succ[v]!.filter((w) => forward(v, w)).map((w) => rank[w]!));
    if (Number.isFinite(lowest)) rank[v] = Math.max(0, lowest - 1);
  }
  const ranks = n === 0 ? 0 : Math.max(...rank) + 1;

  // 3. Order within each column.
  const columns: number[][] = Array.from({ length: ranks }, () => []);
  const prev = options.previous;
  const kept = (v: number) => {
    const p = prev?.get(ids[v]!);
    return p !== undefined && p.rank === rank[v] ? p : undefined;
  };
  const position = new Float64Array(n); // normalized position in its column, 0..1
  const renumber = (r: number) => {
    const col = columns[r]!;
    col.forEach((v, i) => (position[v] = (i + 0.5) / col.length));
  };
  const neighbours = (v: number) => [...pred[v]!, ...succ[v]!];
  const barycenter = (v: number, from: readonly number[], placed: (u: number) => boolean): number | undefined => {
    let sum = 0;
    let k = 0;
    for (const u of from) {
      if (!placed(u)) continue;
      sum += position[u]!;
      k++;
    }
    return k > 0 ? sum / k : undefined;
  };

  if (prev && prev.size > 0) {
    // Keep what was there, in its order; insert the rest by their placed neighbours.
    const isPlaced = new Uint8Array(n);
    for (let r = 0; r < ranks; r++) {
      const old = discovery.filter((v) => rank[v] === r && kept(v)).sort((a, b) => kept(a)!.order - kept(b)!.order);
      columns[r] = old;
      for (const v of old) isPlaced[v] = 1;
      renumber(r);
    }
    for (let r = 0; r < ranks; r++) {
      const fresh = discovery.filter((v) => rank[v] === r && !kept(v));
      for (const v of fresh) {
        const col = columns[r]!;
        const b = barycenter(v, neighbours(v), (u) => isPlaced[u] === 1);
        let at = col.length;
        if (b !== undefined) {
          at = 0;
          while (at < col.length && position[col[at]!]! <= b) at++;
        }
        col.splice(at, 0, v);
        isPlaced[v] = 1;
        renumber(r);
      }
    }
  } else {
    for (const v of discovery) columns[rank[v]!]!.push(v);
    for (let r = 0; r < ranks; r++) renumber(r);
    const sweeps = options.sweeps ?? 8;
    const all = () => true;
    for (let s = 0; s < sweeps; s++) {
      const down = s % 2 === 0;
      for (let step = 0; step < ranks; step++) {
        const r = down ? step : ranks - 1 - step;
        const col = columns[r]!;
        const keys = new Map<number, number>();
        for (const v of col) {
          const from = down ? pred[v]! : succ[v]!;
          keys.set(v, barycenter(v, from, all) ?? barycenter(v, neighbours(v), all) ?? position[v]!);
        }
        const current = new Map(col.map((v, i) => [v, i]));
        col.sort((a, b) => keys.get(a)! - keys.get(b)! || current.get(a)! - current.get(b)!);
        renumber(r);
      }
    }
  }

  // 4. Coordinates: columns left to right, each centred vertically.
  const tallest = Math.max(0, ...columns.map((c) => c.length));
  const nodes = new Map<string, PlacedNode>();
  columns.forEach((col, r) => {
    const offset = ((tallest - col.length) * rowGap) / 2;
    col.forEach((v, i) => {
      nodes.set(ids[v]!, { rank: r, order: i, x: marginX + r * columnGap, y: marginY + offset + i * rowGap });
    });
  });
  return {
    nodes,
    width: ranks === 0 ? 0 : 2 * marginX + (ranks - 1) * columnGap,
    height: tallest === 0 ? 0 : 2 * marginY + (tallest - 1) * rowGap,
    ranks,
  };
}
