/**
 * Attribute values in HTTP headers (CloudEvents HTTP protocol binding 1.0.2, §3.1.3.2): header
 * values may only hold printable US-ASCII, so a writer percent-encodes the UTF-8 bytes of space,
 * `"`, `%` and every character outside U+0021–U+007E; a reader first undoes RFC 7230 quoting, then
 * does one round of percent-decoding, accepting needless encoding but rejecting invalid UTF-8.
 * Without this, an extension such as knativeerrordata (free text) breaks the HTTP request.
 */

export function encodeHeaderValue(value: string): string {
  let encoded = '';
  for (const byte of Buffer.from(value, 'utf8')) {
    const printable = byte > 0x20 && byte < 0x7f && byte !== 0x22 && byte !== 0x25;
    encoded += printable ? String.fromCharCode(byte) : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return encoded;
}

/** The attribute value, or undefined when the header is not validly encoded. */
export function decodeHeaderValue(header: string): string | undefined {
  const unquoted = header.length >= 2 && header.startsWith('"') && header.endsWith('"') ? header.slice(1, -1).replace(/\\(.)/g, '$1') : header;
  try {
    return decodeURIComponent(unquoted); // throws URIError on a stray % and on invalid UTF-8 (e.g. %C0%A0)
  } catch {
    return undefined;
  }
}
