// Request limits the host configures (otlp.max_string_length, otlp.max_attributes_per_span,
// otlp.max_spans_per_request), checked during the wire walk so a request over them is refused
// whole, like a malformed one.
import { fail, rp, failCode, failAt, failMessage, failField } from './wire';
import { E_STRING_LENGTH, E_ATTRIBUTE_COUNT, E_SPAN_COUNT, M_SCOPE_SPANS } from './layout';

/** Longest string (span and event name, status message, attribute key or string value, at any depth), bytes. */
export let maxStringLength: usize = <usize>0xffffffff;
/** Most attributes on one span. */
export let maxAttributesPerSpan: u32 = 0xffffffff;
/** Most spans in one request. */
export let maxSpansPerRequest: u32 = 0xffffffff;
/** Spans of the request being walked past maxSpansPerRequest: counted, not staged. */
export let spansOver: u32 = 0;
/** Where the first of them starts. */
let spansOverAt: usize = 0;

export function setLimits(strings: u32, attributes: u32, spans: u32): void {
  maxStringLength = strings == 0 ? <usize>0xffffffff : <usize>strings;
  maxAttributesPerSpan = attributes == 0 ? 0xffffffff : attributes;
  maxSpansPerRequest = spans == 0 ? 0xffffffff : spans;
}

/** Before a request's walk. */
export function resetSpanCount(): void {
  spansOver = 0;
}

/**
 * A span past the span limit (the walker's one compare per span sent it here): counted and
 * skipped, so that the walk goes on to count the request's spans, as the host's reason names them.
 */
export function spanOver(): void {
  if (spansOver == 0) spansOverAt = rp;
  spansOver++;
}

/**
 * After a request's walk: over the span limit, the request fails with E_SPAN_COUNT where its
 * first extra span starts, in ScopeSpans.spans. That place comes before any failure the walk
 * met later, so it replaces it (fail() keeps the first failure only; this one is known last).
 */
export function checkSpanCount(): void {
  if (spansOver == 0) return;
  failCode = E_SPAN_COUNT;
  failAt = spansOverAt;
  failMessage = M_SCOPE_SPANS;
  failField = 2;
}

/** Fails (in `message`.`field`) when a string of `n` bytes is over the limit; returns whether it is within. */
// @ts-ignore: decorator
@inline export function stringWithin(n: usize, message: i32, field: i32): bool {
  if (n <= maxStringLength) return true;
  fail(E_STRING_LENGTH, message, field);
  return false;
}

/** Fails when a span's `count`th attribute is over the limit; returns whether it is within. */
// @ts-ignore: decorator
@inline export function attributeWithin(count: u32, message: i32, field: i32): bool {
  if (count <= maxAttributesPerSpan) return true;
  fail(E_ATTRIBUTE_COUNT, message, field);
  return false;
}
