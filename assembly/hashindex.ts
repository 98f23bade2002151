// Open-addressing indexes with linear probing. The edge store's and self time's: slots of (hash
// u32, ref u32), ref 0 marking an empty slot. The series tables' and the string table's: the
// tagged four-byte form further down. Callers walk probe runs themselves to compare keys; this file
// places and removes refs (removal shifts later members of the run back, so no tombstones).

export function newIndex(slots: u32): usize {
  let p = heap.alloc(<usize>slots << 3);
  memory.fill(p, 0, <usize>slots << 3);
  return p;
}

// The usual case, the home slot (free, or the ref's), is tested before each loop: V8 checks the
// stack on entering a loop, even one that makes no step.

export function placeRef(index: usize, mask: u32, h: u32, ref: u32): void {
  let i = h & mask;
  if (load<u32>(index + (<usize>i << 3), 4) != 0) {
    do i = (i + 1) & mask; while (load<u32>(index + (<usize>i << 3), 4) != 0);
  }
  let slot = index + (<usize>i << 3);
  store<u32>(slot, h);
  store<u32>(slot, ref, 4);
}

export function removeRef(index: usize, mask: u32, h: u32, ref: u32): void {
  removeRefInline(index, mask, h, ref);
}

/** removeRef inline: the edge store's remove(), on the service graphs' span loop's path (as a call: ~5 instructions per span more in (b), callgrind). */
// @ts-ignore: decorator
@inline export function removeRefInline(index: usize, mask: u32, h: u32, ref: u32): void {
  let i = h & mask;
  if (load<u32>(index + (<usize>i << 3), 4) != ref) {
    do i = (i + 1) & mask; while (load<u32>(index + (<usize>i << 3), 4) != ref);
  }
  // Later members of the run moved back into the gap; none when the run ends at the next slot (usually).
  if (load<u32>(index + (<usize>((i + 1) & mask) << 3), 4) != 0) {
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
  }
  store<u64>(index + (<usize>i << 3), 0);
}

// Tagged index, four bytes a slot: the u32 (hash & ~refMask) | ref, ref a nonzero number within
// refMask (0: an empty slot); the hash's bits outside refMask stay as a tag, so a probe compares
// keys only when its tag matches. The string table's refs are ids, kept at or below the index's
// mask (the slot number gives the hash's low bits: the tag is all the others); the series
// tables' are record addresses / 8 (29 bits, 3 bits of tag). A slot does not say where its
// member's probe run starts: removal and growth ask the owner for the member's hash (`hashOf`).

export function newTagged(slots: u32): usize {
  let p = heap.alloc(<usize>slots << 2);
  memory.fill(p, 0, <usize>slots << 2);
  return p;
}

export function placeTagged(index: usize, mask: u32, h: u32, ref: u32, refMask: u32): void {
  let i = h & mask;
  while (load<u32>(index + (<usize>i << 2)) != 0) i = (i + 1) & mask;
  store<u32>(index + (<usize>i << 2), (h & ~refMask) | ref);
}

/**
 * A new index of `slots` (a power of two) slots holding the refs of the old one (`oldMask` + 1
 * slots, refs within `oldRefMask`), which is freed; refs within `refMask` from now on.
 */
export function growTagged(old: usize, oldMask: u32, oldRefMask: u32, slots: u32, refMask: u32, hashOf: (ref: u32) => u32): usize {
  let index = newTagged(slots);
  let mask = slots - 1;
  for (let i: u32 = 0; i <= oldMask; i++) {
    let ref = load<u32>(old + (<usize>i << 2)) & oldRefMask;
    if (ref != 0) placeTagged(index, mask, hashOf(ref), ref, refMask);
  }
  heap.free(old);
  return index;
}

export function removeTagged(index: usize, mask: u32, h: u32, ref: u32, refMask: u32, hashOf: (ref: u32) => u32): void {
  let i = h & mask;
  while ((load<u32>(index + (<usize>i << 2)) & refMask) != ref) i = (i + 1) & mask;
  let j = i;
  while (true) {
    j = (j + 1) & mask;
    let sj = load<u32>(index + (<usize>j << 2));
    if (sj == 0) break;
    let home = hashOf(sj & refMask) & mask;
    // Move j into the gap at i unless its home lies cyclically in (i, j].
    let stays = i <= j ? (i < home && home <= j) : (i < home || home <= j);
    if (!stays) {
      store<u32>(index + (<usize>i << 2), sj);
      i = j;
    }
  }
  store<u32>(index + (<usize>i << 2), 0);
}
