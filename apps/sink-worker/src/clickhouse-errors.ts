/**
 * What an insert failure means for the batch (docs/sink.md, "When things fail"):
 * - `reject`: ClickHouse refuses the *data* (it cannot parse a value, a constraint fails) and will
 *   refuse it forever: the batch is split until the offending rows stand alone, and they are
 *   dead-lettered.
 * - `split`: the data is fine but the block is too big for one insert and always will be: more
 *   month partitions than `max_partitions_per_insert_block` (code 252 with "Too many partitions for
 *   single INSERT block"). Retrying the same block can never succeed; its parts can, so the batch is
 *   split (the same deterministic halving as `reject`) and every part lands.
 * - `retry`: anything else (unreachable, timeouts, 5xx, TOO_MANY_PARTS as merge back-pressure,
 *   memory, a missing table) may pass later and is retried with backoff; it never costs a row.
 *   `needsOperator` marks the failures that will not pass without someone acting (a missing table
 *   or column, credentials, a read-only server): still retried, so no row is lost, and shown as such
 *   when the partition is stuck.
 */
export type InsertFailure =
  | { kind: 'retry'; code: string; message: string; needsOperator: boolean }
  | { kind: 'split'; code: string; message: string }
  | { kind: 'reject'; code: string; message: string; /** 1-based row ClickHouse named, if it did */ rowHint?: number };

/** TOO_MANY_PARTS: also merge back-pressure ("Too many parts (600)"), which passes; only this message never does. */
const TOO_MANY_PARTS = 252;
const TOO_MANY_PARTITIONS = /too many partitions for (a )?single insert block/i;

/** ClickHouse error codes that will not pass by retrying until someone changes the server or the schema. */
const NEEDS_OPERATOR_CODES = new Set([
  8, // THERE_IS_NO_COLUMN
  16, // NO_SUCH_COLUMN_IN_TABLE
  47, // UNKNOWN_IDENTIFIER
  60, // UNKNOWN_TABLE
  81, // UNKNOWN_DATABASE
  115, // UNKNOWN_SETTING
  164, // READONLY
  192, // UNKNOWN_USER
  193, // WRONG_PASSWORD
  194, // REQUIRED_PASSWORD
  497, // ACCESS_DENIED
  516, // AUTHENTICATION_FAILED
]);

/** ClickHouse error codes that mean "this data is bad" (the row, not the server). */
const DATA_ERROR_CODES = new Set([
  6, // CANNOT_PARSE_TEXT
  25, // CANNOT_PARSE_ESCAPE_SEQUENCE
  26, // CANNOT_PARSE_QUOTED_STRING
  27, // CANNOT_PARSE_INPUT_ASSERTION_FAILED
  32, // ATTEMPT_TO_READ_AFTER_EOF
  33, // CANNOT_READ_ALL_DATA
  38, // CANNOT_PARSE_DATE
  41, // CANNOT_PARSE_DATETIME
  53, // TYPE_MISMATCH
  69, // ARGUMENT_OUT_OF_BOUND
  70, // CANNOT_CONVERT_TYPE
  72, // CANNOT_PARSE_NUMBER
  117, // INCORRECT_DATA
  130, // CANNOT_READ_ARRAY_FROM_TEXT
  131, // TOO_LARGE_STRING_SIZE
  321, // VALUE_IS_OUT_OF_RANGE_OF_DATA_TYPE
  349, // CANNOT_INSERT_NULL_IN_ORDINARY_COLUMN
  377, // CANNOT_PARSE_DOMAIN_VALUE_FROM_STRING
  441, // CANNOT_PARSE_UUID
  469, // VIOLATED_CONSTRAINT
  1002, // UNKNOWN_EXCEPTION thrown by the JSON parser on garbage
]);

export function classifyInsertError(error: unknown): InsertFailure {
  const e = error as { code?: unknown; type?: unknown; message?: unknown; name?: unknown };
  const message = typeof e?.message === 'string' ? e.message : String(error);
  const numeric = typeof e?.code === 'string' && /^\d+$/.test(e.code) ? Number(e.code) : typeof e?.code === 'number' ? e.code : undefined;
  if (numeric !== undefined) {
    const code = typeof e.type === 'string' && e.type ? `${numeric} ${e.type}` : String(numeric);
    if (DATA_ERROR_CODES.has(numeric) || (typeof e.type === 'string' && e.type.startsWith('CANNOT_PARSE'))) {
      const match = /at row (\d+)/.exec(message);
      return match ? { kind: 'reject', code, message, rowHint: Number(match[1]) } : { kind: 'reject', code, message };
    }
    if (numeric === TOO_MANY_PARTS && TOO_MANY_PARTITIONS.test(message)) return { kind: 'split', code, message };
    return { kind: 'retry', code, message, needsOperator: NEEDS_OPERATOR_CODES.has(numeric) };
  }
  const code = typeof e?.code === 'string' ? e.code : typeof e?.name === 'string' ? e.name : 'ERROR';
  return { kind: 'retry', code, message, needsOperator: false };
}
