// Where the span-metrics key words sit for a config: the one place the host works it out (the
// core lays the key out the same way in assembly/spanmetrics.ts configureSpanMetrics; docs/abi.md,
// "Span metrics"). The intrinsics come first (SM_KEY_SERVICE … SM_KEY_STATUS_CODE), then the
// dimensions and the dimension mappings, job and instance with target_info, scope name and
// version with include_instrumentation_scope, the status message when it is on (off by default,
// so the default key is four words), then the histogram dimensions.
import { SM_KEY_DIMENSIONS } from './layout.js';
import type { SpanMetricsConfig } from '../config/types.js';

export interface SpanMetricsKeyWords {
  /** The first dimension; the dimension mappings' words follow the dimensions'. */
  dimensions: number;
  /** The job word (instance: the next), -1 without target_info. */
  job: number;
  /** The scope name word (version: the next), -1 without include_instrumentation_scope. */
  scope: number;
  /** The status message word, -1 while the status_message intrinsic is off. */
  statusMessage: number;
  /** The span's words end here: the histogram or calls dimensions, or the event name, follow. */
  span: number;
}

type KeyConfig = Pick<SpanMetricsConfig, 'dimensions' | 'dimension_mappings' | 'enable_target_info' | 'include_instrumentation_scope' | 'intrinsic_dimensions'>;

export function spanMetricsKeyWords(config: KeyConfig): SpanMetricsKeyWords {
  let next = SM_KEY_DIMENSIONS + config.dimensions.length + (config.dimension_mappings ?? []).length;
  const take = (on: boolean, words: number): number => {
    if (!on) return -1;
    next += words;
    return next - words;
  };
  const job = take(config.enable_target_info === true, 2);
  const scope = take((config.include_instrumentation_scope ?? []).length > 0, 2);
  const statusMessage = take(config.intrinsic_dimensions.status_message, 1);
  return { dimensions: SM_KEY_DIMENSIONS, job, scope, statusMessage, span: next };
}
