// The host's answers about interned strings (which regular expressions a string matches), kept
// per string id so that the host is asked once per distinct string, not once per span. An
// answer holds for the string epoch it was given in: ids freed by a sweep may name another
// string afterwards (intern.ts freeEpoch). Used by the SLO name patterns and the filter policies.
import { freeEpoch } from './intern';

// @ts-ignore: decorator
@unmanaged export class Answers {
  /** Per id 8 bytes: the freeEpoch + 1 the answer holds for (0 = none), the answer. */
  entries: usize;
  cap: u32;
}

export function newAnswers(): Answers {
  let a = changetype<Answers>(heap.alloc(offsetof<Answers>()));
  a.entries = 0;
  a.cap = 0;
  return a;
}

/** The address of id's answer, or 0 when none is held for this epoch (then set it with keepAnswer). */
export function answerOf(a: Answers, id: u32): usize {
  if (id >= a.cap) {
    let cap = a.cap == 0 ? <u32>1024 : a.cap;
    while (cap <= id) cap <<= 1;
    a.entries = a.entries == 0 ? heap.alloc(<usize>cap * 8) : heap.realloc(a.entries, <usize>cap * 8);
    memory.fill(a.entries + <usize>a.cap * 8, 0, <usize>(cap - a.cap) * 8);
    a.cap = cap;
  }
  let e = a.entries + (<usize>id << 3);
  return load<u32>(e) == freeEpoch + 1 ? e + 4 : 0;
}

/** Keeps `answer` for id (after answerOf made room for it); returns it. */
export function keepAnswer(a: Answers, id: u32, answer: u32): u32 {
  let e = a.entries + (<usize>id << 3);
  store<u32>(e, freeEpoch + 1);
  store<u32>(e, answer, 4);
  return answer;
}
