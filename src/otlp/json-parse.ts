// OTLP/JSON request bodies as text and as parsed JSON: UTF-8 without a byte-order mark, and 64-bit
// integer literals kept exact. What the values mean is json.ts's (the converter) and json-reader.ts's.
import { OtlpError } from './errors.js';

export type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
export type JsonObject = { [k: string]: Json };

const utf8 = new TextDecoder('utf-8', { fatal: true });

// JSON.parse turns integer literals past 2^53 into the nearest double, so
// 1700000000000000064 would arrive as ...000. Integer literals of 16+ digits are quoted
// before parsing; every numeric field accepts decimal strings, so their meaning is kept.
// (Side effect: such a literal where a string is expected is accepted as that string.)
// The pre-check looks for a 16-digit run in value position (after ':' '[' ','), so bodies
// that carry 64-bit values as strings, as OTLP/JSON exporters do, skip the scan.
const BIG_INT_LITERAL_HINT = /[:[,]\s*-?\d{16}/;

function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}

export function quoteBigIntegerLiterals(text: string): string {
  if (!BIG_INT_LITERAL_HINT.test(text)) return text;
  const n = text.length;
  let out = '';
  let last = 0;
  let i = 0;
  while (i < n) {
    const c = text.charCodeAt(i);
    if (c === 0x22 /* " */) {
      // Jump to the closing quote: the first one preceded by an even number of backslashes.
      let j = i + 1;
      for (;;) {
        j = text.indexOf('"', j);
        if (j < 0) return text; // unterminated string: JSON.parse reports it
        let b = j - 1;
        while (text.charCodeAt(b) === 0x5c /* \ */) b--;
        if ((j - 1 - b) % 2 === 0) break;
        j++;
      }
      i = j + 1;
    } else if (c === 0x2d /* - */ || isDigit(c)) {
      const start = i;
      if (c === 0x2d) i++;
      const digitsFrom = i;
      while (i < n && isDigit(text.charCodeAt(i))) i++;
      const next = text.charCodeAt(i);
      if (next === 0x2e /* . */ || next === 0x65 /* e */ || next === 0x45 /* E */) {
        // Not an integer literal: skip the rest of the number untouched.
        while (i < n && /[0-9.eE+-]/.test(text[i]!)) i++;
      } else if (i - digitsFrom >= 16) {
        out += text.slice(last, start) + '"' + text.slice(start, i) + '"';
        last = i;
      }
    } else {
      i++;
    }
  }
  return last === 0 ? text : out + text.slice(last);
}

/** The body as JSON: UTF-8 (a leading byte-order mark dropped), big integer literals quoted. */
export function parseJson(body: Uint8Array | string): Json {
  let text: string;
  if (typeof body === 'string') {
    text = body;
  } else {
    try {
      text = utf8.decode(body); // also drops a leading byte-order mark
    } catch {
      throw new OtlpError('bad_request', 'request body is not valid UTF-8');
    }
  }
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);

  let parsed: Json;
  try {
    parsed = JSON.parse(quoteBigIntegerLiterals(text)) as Json;
  } catch (err) {
    throw new OtlpError('bad_request', `invalid JSON: ${(err as Error).message}`);
  }
  return parsed;
}
