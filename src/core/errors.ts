// Turns the core's failure codes (assembly/wire.ts, assembly/schema.ts) into reasons a sender can act on.

const FAILURES: Record<number, string> = {
  1: 'truncated data',
  2: 'varint overflows 64 bits',
  3: 'invalid wire type',
  4: 'wrong wire type for a known field',
  5: 'length runs past the end of its message',
  6: 'nesting deeper than 64 levels',
  7: 'wrong id length (trace_id must be 16 bytes, span_id and parent_span_id 8, or empty)',
  8: 'unmatched group end',
  9: 'field number 0',
  10: 'string longer than otlp.max_string_length',
  11: 'more attributes than otlp.max_attributes_per_span',
  12: 'more spans than otlp.max_spans_per_request',
};

/** assembly/wire.ts E_SPAN_COUNT. */
export const E_SPAN_COUNT = 12;

/** Failure codes that are configured limits rather than malformed input. */
export const LIMIT_FAILURES: Record<number, 'string_too_long' | 'too_many_attributes' | 'too_many_spans'> = {
  10: 'string_too_long',
  11: 'too_many_attributes',
  [E_SPAN_COUNT]: 'too_many_spans',
};

/** The counter reason of a failure code: its limit, too_deep for nesting (as OTLP/JSON names it), else malformed. */
export function causeOf(code: number): 'malformed' | 'too_deep' | 'string_too_long' | 'too_many_attributes' | 'too_many_spans' {
  return LIMIT_FAILURES[code] ?? (code === 6 ? 'too_deep' : 'malformed');
}

const MESSAGES: Record<number, [string, Record<number, string>]> = {
  1: ['ExportTraceServiceRequest', { 1: 'resource_spans' }],
  2: ['ResourceSpans', { 1: 'resource', 2: 'scope_spans', 3: 'schema_url' }],
  3: ['Resource', { 1: 'attributes', 2: 'dropped_attributes_count' }],
  4: ['ScopeSpans', { 1: 'scope', 2: 'spans', 3: 'schema_url' }],
  5: ['Span', {
    1: 'trace_id', 2: 'span_id', 3: 'trace_state', 4: 'parent_span_id', 5: 'name', 6: 'kind',
    7: 'start_time_unix_nano', 8: 'end_time_unix_nano', 9: 'attributes', 10: 'dropped_attributes_count',
    11: 'events', 12: 'dropped_events_count', 13: 'links', 14: 'dropped_links_count', 15: 'status', 16: 'flags',
  }],
  6: ['Status', { 2: 'message', 3: 'code' }],
  7: ['KeyValue', { 1: 'key', 2: 'value' }],
  8: ['AnyValue', {
    1: 'string_value', 2: 'bool_value', 3: 'int_value', 4: 'double_value', 5: 'array_value',
    6: 'kvlist_value', 7: 'bytes_value',
  }],
  9: ['ArrayValue', { 1: 'values' }],
  10: ['KeyValueList', { 1: 'values' }],
  11: ['InstrumentationScope', { 1: 'name', 2: 'version', 3: 'attributes', 4: 'dropped_attributes_count' }],
  12: ['Span.Event', { 1: 'time_unix_nano', 2: 'name', 3: 'attributes', 4: 'dropped_attributes_count' }],
  13: ['Span.Link', {
    1: 'trace_id', 2: 'span_id', 3: 'trace_state', 4: 'attributes', 5: 'dropped_attributes_count', 6: 'flags',
  }],
};

export function describeFailure(code: number, offset: number, message: number, field: number): string {
  const what = FAILURES[code] ?? `error ${code}`;
  const entry = MESSAGES[message];
  let where = '';
  if (entry) {
    const [name, fields] = entry;
    where = !(field > 0) ? ` in ${name}` : fields[field] ? ` in ${name}.${fields[field]} (field ${field})` : ` in ${name} field ${field}`;
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
