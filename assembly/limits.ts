// Request limits the host configures (otlp.max_string_length, otlp.max_attributes_per_span),
// checked during the wire walk so a request over them is refused whole, like a malformed one.
import { fail } from './wire';
import { E_STRING_LENGTH, E_ATTRIBUTE_COUNT } from './layout';

/** Longest string (span and event name, status message, attribute key or string value, at any depth), bytes. */
export let maxStringLength: usize = <usize>0xffffffff;
/** Most attributes on one span. */
export let maxAttributesPerSpan: u32 = 0xffffffff;

export function setLimits(strings: u32, attributes: u32): void {
  maxStringLength = strings == 0 ? <usize>0xffffffff : <usize>strings;
  maxAttributesPerSpan = attributes == 0 ? 0xffffffff : attributes;
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
