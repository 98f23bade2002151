// Turns the core's failure codes into reasons a sender can act on. The codes, their reasons and
// the message ids are declared once, in assembly/layout.ts (E_*, M_*), and reach the host
// through the generated ./layout.ts; the field names below are the OTLP protos'.
import {
  E_ATTRIBUTE_COUNT, E_DEPTH, E_SPAN_COUNT, E_STRING_LENGTH, FAILURE_REASONS, MESSAGE_NAMES, M_ANY_VALUE,
  M_ARRAY_VALUE, M_EVENT, M_KEY_VALUE, M_KEY_VALUE_LIST, M_LINK, M_REQUEST, M_RESOURCE, M_RESOURCE_SPANS, M_SCOPE,
  M_SCOPE_SPANS, M_SPAN, M_STATUS,
} from './layout.js';

/** Failure codes that are configured limits rather than malformed input, by their counter reason. */
const LIMITS = {
  [E_STRING_LENGTH]: 'string_too_long',
  [E_ATTRIBUTE_COUNT]: 'too_many_attributes',
  [E_SPAN_COUNT]: 'too_many_spans',
} as const;
export const LIMIT_FAILURES: Readonly<Record<number, (typeof LIMITS)[keyof typeof LIMITS] | undefined>> = LIMITS;

/** Why the core refused a request, as a counter label: malformed bytes, too deep, or over a configured limit. */
export type FailureCause = 'malformed' | 'too_deep' | (typeof LIMITS)[keyof typeof LIMITS];

/** The counter reason of a failure code: its limit, too_deep for nesting (as OTLP/JSON names it), else malformed. */
export function causeOf(code: number): FailureCause {
  return LIMIT_FAILURES[code] ?? (code === E_DEPTH ? 'too_deep' : 'malformed');
}

/** Field names by number, per message id (the OTLP protos). */
const FIELDS: Record<number, Record<number, string>> = {
  [M_REQUEST]: { 1: 'resource_spans' },
  [M_RESOURCE_SPANS]: { 1: 'resource', 2: 'scope_spans', 3: 'schema_url' },
  [M_RESOURCE]: { 1: 'attributes', 2: 'dropped_attributes_count' },
  [M_SCOPE_SPANS]: { 1: 'scope', 2: 'spans', 3: 'schema_url' },
  [M_SPAN]: {
    1: 'trace_id', 2: 'span_id', 3: 'trace_state', 4: 'parent_span_id', 5: 'name', 6: 'kind',
    7: 'start_time_unix_nano', 8: 'end_time_unix_nano', 9: 'attributes', 10: 'dropped_attributes_count',
    11: 'events', 12: 'dropped_events_count', 13: 'links', 14: 'dropped_links_count', 15: 'status', 16: 'flags',
  },
  [M_STATUS]: { 2: 'message', 3: 'code' },
  [M_KEY_VALUE]: { 1: 'key', 2: 'value' },
  [M_ANY_VALUE]: {
    1: 'string_value', 2: 'bool_value', 3: 'int_value', 4: 'double_value', 5: 'array_value',
    6: 'kvlist_value', 7: 'bytes_value',
  },
  [M_ARRAY_VALUE]: { 1: 'values' },
  [M_KEY_VALUE_LIST]: { 1: 'values' },
  [M_SCOPE]: { 1: 'name', 2: 'version', 3: 'attributes', 4: 'dropped_attributes_count' },
  [M_EVENT]: { 1: 'time_unix_nano', 2: 'name', 3: 'attributes', 4: 'dropped_attributes_count' },
  [M_LINK]: {
    1: 'trace_id', 2: 'span_id', 3: 'trace_state', 4: 'attributes', 5: 'dropped_attributes_count', 6: 'flags',
  },
};

export function describeFailure(code: number, offset: number, message: number, field: number): string {
  const what = FAILURE_REASONS[code] ?? `error ${code}`;
  const name = MESSAGE_NAMES[message];
  let where = '';
  if (name !== undefined) {
    const fieldName = FIELDS[message]?.[field];
    where = !(field > 0) ? ` in ${name}` : fieldName ? ` in ${name}.${fieldName} (field ${field})` : ` in ${name} field ${field}`;
  }
  return `${code in LIMIT_FAILURES ? 'over a limit' : 'invalid protobuf'}: ${what}${where} at byte ${offset}`;
}

/**
 * The reason for E_SPAN_COUNT: every span of the request counted (spans_seen), and the limit. It
 * names no byte: the words are those the receivers sent when they counted spans themselves.
 */
export function spanLimitReason(spans: number, limit: number): string {
  return `request has ${spans} spans, more than otlp.max_spans_per_request (${limit})`;
}
