import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { FloodgateError } from '@floodgate/errors';
import { applyStackCredentials, resolveStackHome } from './credentials.ts';
import { unknownKeysOfOurs } from './keys.ts';
import { applyLocalBrokerDefaults } from './local-brokers.ts';

export interface LoadConfigOptions {
  /** Defaults to process.env; read when called, never at import time. */
  env?: NodeJS.ProcessEnv;
}

/**
 * Reads the keys of `schema` from the environment, with `FLOODGATE_CONFIG` naming an optional JSON
 * file of the same keys (the environment wins over the file), and last the credentials `stack up`
 * generated in `<FLOODGATE_HOME>/credentials.json` (see credentials.ts). Validates once, fills
 * defaults and returns a frozen object. A bad value fails with CONFIG_INVALID naming the variable,
 * and so does a variable of ours (in the environment or the file) that no app reads (keys.ts).
 */
export function loadConfig<Shape extends z.ZodRawShape>(
  schema: z.ZodObject<Shape>,
  options: LoadConfigOptions = {},
): Readonly<z.infer<z.ZodObject<Shape>>> {
  const env = options.env ?? process.env;
  const keys = Object.keys(schema.shape);
  const raw: Record<string, unknown> = {};
  let fileHome: string | undefined;

  const file = env.FLOODGATE_CONFIG;
  rejectUnknown(Object.keys(env), 'set in the environment');
  if (file) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(readFileSync(file, 'utf8'));
    } catch (cause) {
      throw new FloodgateError('CONFIG_FILE_UNREADABLE', `FLOODGATE_CONFIG: cannot read ${file} as JSON: ${(cause as Error).message}`, { cause });
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
      throw new FloodgateError('CONFIG_INVALID', `FLOODGATE_CONFIG: ${file} must hold a JSON object of VARIABLE: value`);
    }
    for (const [key, value] of Object.entries(parsed)) {
      // A file is shared between apps, so keys of other apps are allowed; typos of ours are not.
      if (!/^[A-Z][A-Z0-9_]*$/.test(key)) {
        throw new FloodgateError('CONFIG_INVALID', `${key} (in ${file}): configuration keys are upper-case variable names`);
      }
      if (keys.includes(key)) raw[key] = typeof value === 'string' ? value : JSON.stringify(value);
      if (key === 'FLOODGATE_HOME' && typeof value === 'string') fileHome = value;
    }
    rejectUnknown(Object.keys(parsed), `in ${file}`);
  }
  for (const key of keys) {
    const value = env[key];
    if (value !== undefined && value !== '') raw[key] = value;
  }
  applyLocalBrokerDefaults(raw, keys);
  applyStackCredentials(raw, keys, resolveStackHome(env.FLOODGATE_HOME || fileHome));

  const result = schema.safeParse(raw);
  if (!result.success) {
    const problems = result.error.issues.map((issue) => {
      const key = issue.path.join('.') || '(config)';
      const got = raw[key] === undefined ? 'unset' : JSON.stringify(raw[key]);
      return `${key}: ${issue.message} (got ${got})`;
    });
    throw new FloodgateError('CONFIG_INVALID', `invalid configuration: ${problems.join('; ')}`, {
      details: problems,
    });
  }
  return Object.freeze(result.data);
}

function rejectUnknown(keys: string[], where: string): void {
  const unknown = unknownKeysOfOurs(keys);
  if (unknown.length === 0) return;
  const problems = unknown.map((key) => `${key} (${where}): no floodgate app reads this variable (a typo?)`);
  throw new FloodgateError('CONFIG_INVALID', `invalid configuration: ${problems.join('; ')}`, { details: problems });
}

/** Helpers for environment values, which are always strings. */
export const env = {
  int: (def: number, min = 0, max = Number.MAX_SAFE_INTEGER) =>
    z.coerce.number().int().min(min).max(max).default(def),
  bool: (def: boolean) =>
    z
      .enum(['true', 'false', '1', '0', 'yes', 'no'])
      .default(def ? 'true' : 'false')
      .transform((v) => v === 'true' || v === '1' || v === 'yes'),
  string: (def: string) => z.string().min(1).default(def),
  url: (def: string) => z.url().default(def),
  list: (def: string) =>
    z
      .string()
      .default(def)
      .transform((v) => v.split(',').map((s) => s.trim()).filter(Boolean))
      .pipe(z.array(z.string()).min(1)),
};
