/**
 * Turns any string (a consumer group, a topic) into one KV key / subject token: letters, digits,
 * `-` and `_` stay, anything else becomes `=` and its hex code, so distinct inputs stay distinct.
 */
export function keyToken(value: string): string {
  let out = '';
  for (const ch of value) {
    if (/[A-Za-z0-9_-]/.test(ch)) out += ch;
    else out += `=${ch.codePointAt(0)!.toString(16).padStart(2, '0')}`;
  }
  return out === '' ? '=' : out;
}

/** A bucket name or subject prefix must be a plain token. */
export const PREFIX_PATTERN = /^[A-Za-z0-9_-]+$/;
