// Open-addressing index shared by the tables: slots of (hash u32, ref u32) with linear probing,
// ref 0 marking an empty slot. Callers walk probe runs themselves to compare keys; this file
// places and removes refs (removal shifts later members of the run back, so no tombstones).

export function newIndex(slots: u32): usize {
  let p = heap.alloc(<usize>slots << 3);
  memory.fill(p, 0, <usize>slots << 3);
  return p;
}

export function placeRef(index: usize, mask: u32, h: u32, ref: u32): void {
  let i = h & mask;
  while (load<u32>(index + (<usize>i << 3), 4) != 0) i = (i + 1) & mask;
  let slot = index + (<usize>i << 3);
  store<u32>(slot, h);
  store<u32>(slot, ref, 4);
}

export function removeRef(index: usize, mask: u32, h: u32, ref: u32): void {
  let i = h & mask;
  while (load<u32>(index + (<usize>i << 3), 4) != ref) i = (i + 1) & mask;
  let j = i;
  while (true) {
    j = (j + 1) & mask;
    let sj = index + (<usize>j << 3);
    if (load<u32>(sj, 4) == 0) break;
    let home = load<u32>(sj) & mask;
    // Move j into the gap at i unless its home lies cyclically in (i, j].
    let stays = i <= j ? (i < home && home <= j) : (i < home || home <= j);
    if (!stays) {
      store<u64>(index + (<usize>i << 3), load<u64>(sj));
      i = j;
    }
  }
  store<u64>(index + (<usize>i << 3), 0);
}
