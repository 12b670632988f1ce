/**
 * Parses a float the way Go's strconv.ParseFloat does for the forms exporters emit, because
 * Prometheus parses sample values and `le` bucket bounds with it. JavaScript's Number() is too
 * lenient for that job: it accepts "", " 1 ", "0x10" and "Infinity" but not "+Inf" or "NaN".
 */

const DECIMAL_FLOAT = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$/;
const INFINITY = /^([+-]?)inf(?:inity)?$/i;
const NOT_A_NUMBER = /^[+-]?nan$/i;

/** The value, or undefined when the text is not a float (hexadecimal floats are not accepted). */
export function parseGoFloat(text: string): number | undefined {
  if (DECIMAL_FLOAT.test(text)) return Number(text);
  const infinity = INFINITY.exec(text);
  if (infinity) return infinity[1] === '-' ? -Infinity : Infinity;
  if (NOT_A_NUMBER.test(text)) return NaN;
  return undefined;
}
