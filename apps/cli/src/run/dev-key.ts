import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

/**
 * The development API key `floodgate start` uses when no keys are configured: made once, kept in
 * FLOODGATE_HOME/dev-api-key (mode 0600) so the README's curl line keeps working across restarts.
 */
export function devApiKey(home: string): { key: string; file: string } {
  const file = path.join(home, 'dev-api-key');
  try {
    const key = readFileSync(file, 'utf8').trim();
    if (key.length >= 16) return { key, file };
  } catch {
    // not made yet
  }
  mkdirSync(home, { recursive: true });
  const key = `fg_dev_${randomBytes(18).toString('base64url')}`;
  writeFileSync(file, `${key}\n`, { mode: 0o600 });
  return { key, file };
}
