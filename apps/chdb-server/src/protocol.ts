/**
 * The pure parts of ClickHouse's HTTP interface as chdb-server speaks it: which URL parameters are
 * settings, query parameters or client-only; how an exception code becomes an HTTP status; how the
 * error body looks; safe quoting for the few statements the server writes itself. No I/O here.
 *
 * Reference: ClickHouse src/Server/HTTPHandler.cpp and src/Server/HTTP/exceptionCodeToHTTPStatus.cpp.
 */

/** ClickHouse exception codes this server names itself (values from chDB 26.7's errorCodeToName). */
export const ErrorCode = {
  CANNOT_PARSE_TEXT: 6,
  THERE_IS_NO_COLUMN: 8,
  DUPLICATE_COLUMN: 15,
  CANNOT_PARSE_ESCAPE_SEQUENCE: 25,
  CANNOT_PARSE_QUOTED_STRING: 26,
  CANNOT_PARSE_INPUT_ASSERTION_FAILED: 27,
  BAD_ARGUMENTS: 36,
  UNKNOWN_ELEMENT_IN_AST: 37,
  CANNOT_PARSE_DATE: 38,
  CANNOT_PARSE_DATETIME: 41,
  ILLEGAL_COLUMN: 44,
  UNKNOWN_FUNCTION: 46,
  UNKNOWN_IDENTIFIER: 47,
  NOT_IMPLEMENTED: 48,
  UNKNOWN_TYPE: 50,
  TYPE_MISMATCH: 53,
  UNKNOWN_STORAGE: 56,
  UNKNOWN_TABLE: 60,
  SYNTAX_ERROR: 62,
  UNKNOWN_AGGREGATE_FUNCTION: 63,
  CANNOT_PARSE_NUMBER: 72,
  UNKNOWN_FORMAT: 73,
  CANNOT_OPEN_FILE: 76,
  UNKNOWN_TYPE_OF_QUERY: 78,
  UNKNOWN_DATABASE: 81,
  NO_DATA_TO_INSERT: 108,
  UNKNOWN_SETTING: 115,
  INCORRECT_DATA: 117,
  UNKNOWN_TYPE_OF_AST_NODE: 123,
  UNKNOWN_DIRECTION_OF_SORTING: 152,
  TIMEOUT_EXCEEDED: 159,
  TOO_DEEP_AST: 167,
  TOO_BIG_AST: 168,
  UNKNOWN_USER: 192,
  WRONG_PASSWORD: 193,
  REQUIRED_PASSWORD: 194,
  TOO_MANY_SIMULTANEOUS_QUERIES: 202,
  SOCKET_TIMEOUT: 209,
  UNEXPECTED_AST_STRUCTURE: 223,
  QUERY_IS_TOO_LARGE: 229,
  ABORTED: 236,
  CANNOT_DECOMPRESS: 271,
  VALUE_IS_OUT_OF_RANGE_OF_DATA_TYPE: 321,
  UNKNOWN_DATABASE_ENGINE: 336,
  CANNOT_PARSE_UUID: 376,
  HTTP_LENGTH_REQUIRED: 381,
  CANNOT_COMPILE_REGEXP: 427,
  CANNOT_SCHEDULE_TASK: 439,
  CANNOT_PARSE_DOMAIN_VALUE_FROM_STRING: 441,
  ACCESS_DENIED: 497,
  UNKNOWN_ROLE: 511,
  SET_NON_GRANTED_ROLE: 512,
  AUTHENTICATION_FAILED: 516,
  CANNOT_PARSE_IPV4: 675,
  CANNOT_PARSE_IPV6: 676,
  UNSUPPORTED_MEDIA_TYPE: 779,
  STD_EXCEPTION: 1001,
} as const;

export type ErrorCodeName = keyof typeof ErrorCode;

const NAME_OF_CODE = new Map<number, string>(Object.entries(ErrorCode).map(([name, code]) => [code, name]));

const C = ErrorCode;
const FORBIDDEN = new Set<number>([C.UNKNOWN_USER, C.WRONG_PASSWORD, C.AUTHENTICATION_FAILED, C.SET_NON_GRANTED_ROLE, C.ACCESS_DENIED]);
const BAD_REQUEST = new Set<number>([
  C.BAD_ARGUMENTS, C.CANNOT_COMPILE_REGEXP, C.CANNOT_PARSE_TEXT, C.CANNOT_PARSE_ESCAPE_SEQUENCE,
  C.CANNOT_PARSE_QUOTED_STRING, C.CANNOT_PARSE_DATE, C.CANNOT_PARSE_DATETIME, C.CANNOT_PARSE_NUMBER,
  C.CANNOT_PARSE_DOMAIN_VALUE_FROM_STRING, C.CANNOT_PARSE_IPV4, C.CANNOT_PARSE_IPV6,
  C.CANNOT_PARSE_INPUT_ASSERTION_FAILED, C.CANNOT_PARSE_UUID, C.DUPLICATE_COLUMN, C.ILLEGAL_COLUMN,
  C.UNKNOWN_ELEMENT_IN_AST, C.UNKNOWN_TYPE_OF_AST_NODE, C.THERE_IS_NO_COLUMN, C.TOO_DEEP_AST, C.TOO_BIG_AST,
  C.UNEXPECTED_AST_STRUCTURE, C.SYNTAX_ERROR, C.INCORRECT_DATA, C.TYPE_MISMATCH, C.VALUE_IS_OUT_OF_RANGE_OF_DATA_TYPE,
]);
const NOT_FOUND = new Set<number>([
  C.UNKNOWN_TABLE, C.UNKNOWN_FUNCTION, C.UNKNOWN_IDENTIFIER, C.UNKNOWN_TYPE, C.UNKNOWN_STORAGE,
  C.UNKNOWN_DATABASE, C.UNKNOWN_SETTING, C.UNKNOWN_DIRECTION_OF_SORTING, C.UNKNOWN_AGGREGATE_FUNCTION,
  C.UNKNOWN_FORMAT, C.UNKNOWN_DATABASE_ENGINE, C.UNKNOWN_TYPE_OF_QUERY, C.UNKNOWN_ROLE,
]);

/** The HTTP status ClickHouse answers for an exception code (exceptionCodeToHTTPStatus, 24.x–26.x). */
export function httpStatusForCode(code: number): number {
  if (code === C.REQUIRED_PASSWORD) return 401;
  if (FORBIDDEN.has(code)) return 403;
  if (BAD_REQUEST.has(code)) return 400;
  if (NOT_FOUND.has(code)) return 404;
  if (code === C.QUERY_IS_TOO_LARGE) return 413;
  if (code === C.NOT_IMPLEMENTED) return 501;
  if (code === C.SOCKET_TIMEOUT || code === C.CANNOT_OPEN_FILE || code === C.CANNOT_SCHEDULE_TASK) return 503;
  if (code === C.HTTP_LENGTH_REQUIRED) return 411;
  if (code === C.TIMEOUT_EXCEEDED) return 408;
  if (code === C.UNSUPPORTED_MEDIA_TYPE) return 415;
  return 500;
}

/**
 * An exception in ClickHouse's shape. `message` is the whole `Code: N. DB::Exception: ... (TYPE)`
 * text; `status` overrides the standard mapping where this server deliberately differs (overload).
 */
export class ClickHouseException extends Error {
  readonly code: number;
  readonly status: number;

  constructor(code: number, message: string, options: { status?: number; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'ClickHouseException';
    this.code = code;
    this.status = options.status ?? httpStatusForCode(code);
  }

  /** Builds `Code: N. DB::Exception: <text>. (NAME)` for errors raised by this server itself. */
  static of(name: ErrorCodeName, text: string, options: { status?: number; cause?: unknown } = {}): ClickHouseException {
    const code = ErrorCode[name];
    const sentence = /[.!?]$/.test(text) ? text : `${text}.`;
    return new ClickHouseException(code, `Code: ${code}. DB::Exception: ${sentence} (${name})`, options);
  }
}

const CODE_PREFIX = /^Code:\s*(\d+)\b/;

/**
 * Turns whatever the engine threw into a ClickHouseException. chDB messages already read
 * `Code: 60. DB::Exception: ... (UNKNOWN_TABLE)`; anything else (a JS-side failure) becomes
 * STD_EXCEPTION, as ClickHouse reports a std::exception.
 */
export function toClickHouseException(error: unknown): ClickHouseException {
  if (error instanceof ClickHouseException) return error;
  const message = error instanceof Error ? error.message : String(error);
  const match = CODE_PREFIX.exec(message);
  if (match) return new ClickHouseException(Number(match[1]), message.trim(), { cause: error });
  return ClickHouseException.of('STD_EXCEPTION', message || 'unknown error', { cause: error });
}

/**
 * The body ClickHouse writes for an exception: the message, then ` (version X)` unless the message
 * already ends with one, then a newline. @clickhouse/client's parseError reads code, message and type
 * from it.
 */
export function errorBody(message: string, version: string): string {
  const trimmed = message.trimEnd();
  return /\(version [^()]*(\([^()]*\))?\)$/.test(trimmed) ? `${trimmed}\n` : `${trimmed} (version ${version})\n`;
}

/** URL parameters ClickHouse's HTTP handler consumes itself and never treats as settings. */
const RESERVED_PARAMS = new Set([
  'compress', 'decompress', 'user', 'password', 'quota_key', 'query_id', 'stacktrace', 'role',
  'buffer_size', 'wait_end_of_query', 'session_id', 'session_timeout', 'session_check',
  'client_protocol_version', 'close_session',
]);

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;
const FORMAT_NAME = /^[A-Za-z0-9_]+$/;

export interface RequestParams {
  /** The `query` parameter (URL or multipart field), if any. */
  query: string | undefined;
  /** `query_id` parameter, else the X-ClickHouse-Query-Id header. */
  queryId: string | undefined;
  /** `database` parameter, else the X-ClickHouse-Database header. */
  database: string | undefined;
  /** `default_format` parameter, else the X-ClickHouse-Format header. */
  defaultFormat: string | undefined;
  /** Settings to apply to this query only, in URL order (last one wins, as in ClickHouse). */
  settings: Array<[name: string, value: string]>;
  /** `param_<name>` values, verbatim (ClickHouse's escaped text form, as the client sends them). */
  queryParams: Array<[name: string, value: string]>;
  /** ClickHouse's own block compression (`compress=1` / `decompress=1`), which this server lacks. */
  nativeCompression: boolean;
}

export type HeaderLookup = (name: string) => string | undefined;

/**
 * Splits request parameters the way ClickHouse's HTTPHandler does: reserved names are consumed,
 * `database` / `default_format` are not settings, `param_*` are query parameters, everything else
 * is a setting. Invalid setting or parameter names are rejected here, so that only identifiers ever
 * reach the SQL this server writes.
 */
export function parseRequestParams(entries: Iterable<[string, string]>, header: HeaderLookup = () => undefined): RequestParams {
  const out: RequestParams = {
    query: undefined,
    queryId: undefined,
    database: undefined,
    defaultFormat: undefined,
    settings: [],
    queryParams: [],
    nativeCompression: false,
  };
  for (const [key, value] of entries) {
    if (key === '') continue;
    if (key === 'query') {
      out.query ??= value;
    } else if (key === 'database') {
      out.database ??= value;
    } else if (key === 'default_format') {
      out.defaultFormat ??= value;
    } else if (key === 'query_id') {
      out.queryId ??= value;
    } else if (RESERVED_PARAMS.has(key)) {
      if ((key === 'compress' || key === 'decompress') && isTruthy(value)) out.nativeCompression = true;
    } else if (key.startsWith('param_')) {
      const name = key.slice('param_'.length);
      if (!IDENTIFIER.test(name)) {
        throw ClickHouseException.of('BAD_ARGUMENTS', `Invalid query parameter name ${JSON.stringify(name)}: expected an identifier`);
      }
      out.queryParams.push([name, value]);
    } else {
      if (!IDENTIFIER.test(key)) {
        throw ClickHouseException.of('UNKNOWN_SETTING', `Unknown setting ${JSON.stringify(key)}`);
      }
      out.settings.push([key, value]);
    }
  }
  out.database ??= nonEmpty(header('x-clickhouse-database'));
  out.defaultFormat ??= nonEmpty(header('x-clickhouse-format'));
  out.queryId ??= nonEmpty(header('x-clickhouse-query-id'));
  if (out.defaultFormat !== undefined && !FORMAT_NAME.test(out.defaultFormat)) {
    throw ClickHouseException.of('UNKNOWN_FORMAT', `Unknown format ${JSON.stringify(out.defaultFormat)}`);
  }
  return out;
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === '' ? undefined : value;
}

/** ClickHouse's reading of a boolean parameter (`1`, `true`, ...). */
export function isTruthy(value: string | undefined): boolean {
  if (value === undefined) return false;
  const v = value.trim().toLowerCase();
  return v === '1' || v === 'true' || v === 'yes' || v === 'on';
}

/** The last value of a setting in the request, if given. */
export function settingValue(params: RequestParams, name: string): string | undefined {
  let found: string | undefined;
  for (const [key, value] of params.settings) if (key === name) found = value;
  return found;
}

/**
 * A ClickHouse single-quoted string literal holding `value` exactly. Backslash and quote are the
 * only characters that could end the literal; NUL is escaped too, since the statement crosses a C
 * boundary. Everything else is literal inside quotes.
 */
export function quoteString(value: string): string {
  return `'${value.replace(/[\\'\0]/g, (c) => (c === '\0' ? '\\0' : `\\${c}`))}'`;
}

/** A back-quoted ClickHouse identifier holding `name` exactly. */
export function quoteIdentifier(name: string): string {
  return `\`${name.replace(/[\\`\0]/g, (c) => (c === '\0' ? '\\0' : `\\${c}`))}\``;
}

/**
 * One `SET a = '1', param_x = '...'` statement for the settings and query parameters of a request,
 * or undefined when there are none. Names are identifiers (checked by parseRequestParams, checked
 * again here); values are always string literals. ClickHouse converts a string to the setting's
 * type, and a `param_x = '<text>'` stores <text> verbatim as the parameter, exactly as the HTTP
 * handler does with `param_x=<text>`, so no value is ever spliced into SQL unquoted.
 */
export function buildSetStatement(settings: ReadonlyArray<readonly [string, string]>, queryParams: ReadonlyArray<readonly [string, string]>): string | undefined {
  const parts: string[] = [];
  for (const [name, value] of settings) {
    if (!IDENTIFIER.test(name)) throw ClickHouseException.of('UNKNOWN_SETTING', `Unknown setting ${JSON.stringify(name)}`);
    parts.push(`${name} = ${quoteString(value)}`);
  }
  for (const [name, value] of queryParams) {
    if (!IDENTIFIER.test(name)) throw ClickHouseException.of('BAD_ARGUMENTS', `Invalid query parameter name ${JSON.stringify(name)}`);
    parts.push(`param_${name} = ${quoteString(value)}`);
  }
  return parts.length === 0 ? undefined : `SET ${parts.join(', ')}`;
}

/** Text input formats chDB's raw insert takes as bytes (its whitelist). */
const RAW_INSERT_FORMATS = new Set([
  'JSONEachRow', 'JSONCompactEachRow', 'CSV', 'CSVWithNames', 'TSV', 'TabSeparated', 'TSVWithNames', 'TabSeparatedWithNames',
]);
export type RawInsertFormat = 'JSONEachRow' | 'JSONCompactEachRow' | 'CSV' | 'CSVWithNames' | 'TSV' | 'TabSeparated' | 'TSVWithNames' | 'TabSeparatedWithNames';

export interface SimpleInsert {
  table: string;
  columns: string[] | undefined;
  format: RawInsertFormat;
}

const PLAIN = '[A-Za-z0-9_]+';
const SIMPLE_INSERT = new RegExp(
  `^\\s*INSERT\\s+INTO\\s+(${PLAIN}(?:\\.${PLAIN})?)\\s*(?:\\(\\s*(${PLAIN}(?:\\s*,\\s*${PLAIN})*)\\s*\\))?\\s*FORMAT\\s+(${PLAIN})\\s*;?\\s*$`,
  'i',
);

/**
 * Recognises the INSERT that @clickhouse/client writes (`INSERT INTO db.t (a, b) FORMAT JSONEachRow`)
 * when every name is a plain identifier and the format is one chDB takes as raw bytes. Such inserts
 * go to chDB's zero-copy raw insert; anything else (quoted names, `* EXCEPT`, SETTINGS, other
 * formats) takes the general path, which concatenates query and body exactly as ClickHouse does.
 */
export function parseSimpleInsert(query: string): SimpleInsert | undefined {
  const match = SIMPLE_INSERT.exec(query);
  if (!match) return undefined;
  const format = match[3]!;
  if (!RAW_INSERT_FORMATS.has(format)) return undefined;
  const columns = match[2]?.split(',').map((c) => c.trim());
  return { table: match[1]!, columns, format: format as RawInsertFormat };
}

const LEADING_INSERT = /^\s*(?:(?:--[^\n]*\n|\/\*[\s\S]*?\*\/)\s*)*INSERT\b/i;

export function isInsertQuery(sql: string): boolean {
  return LEADING_INSERT.test(sql);
}

const TRAILING_FORMAT = /\bFORMAT\s+([A-Za-z0-9_]+)\s*;?\s*$/i;

/** The output format a query will use: its trailing FORMAT clause, else the default. */
export function outputFormatOf(sql: string, defaultFormat: string): string {
  return TRAILING_FORMAT.exec(sql)?.[1] ?? defaultFormat;
}

/** The Content-Type ClickHouse's output formats declare. */
export function contentTypeFor(format: string): string {
  const f = format.toLowerCase();
  if (f.startsWith('json') || f === 'ndjson' || f === 'jsonl') return 'application/json; charset=UTF-8';
  if (f.startsWith('tabseparated') || f.startsWith('tsv')) return 'text/tab-separated-values; charset=UTF-8';
  if (f.startsWith('csv')) return `text/csv; charset=UTF-8; header=${f.includes('withnames') ? 'present' : 'absent'}`;
  if (f === 'xml') return 'application/xml; charset=UTF-8';
  if (
    f === 'native' || f.startsWith('rowbinary') || f === 'parquet' || f.startsWith('arrow') || f === 'orc' ||
    f === 'avro' || f.startsWith('protobuf') || f === 'msgpack' || f === 'capnproto' || f === 'npy' || f === 'bsoneachrow'
  ) {
    return 'application/octet-stream';
  }
  return 'text/plain; charset=UTF-8';
}

export type ContentCoding = 'gzip' | 'deflate' | 'br';

/** Picks the response coding ClickHouse would: only with enable_http_compression, gzip first. */
export function chooseResponseEncoding(acceptEncoding: string | undefined, enabled: boolean): ContentCoding | undefined {
  if (!enabled || !acceptEncoding) return undefined;
  const accepted = acceptEncoding.toLowerCase();
  for (const coding of ['gzip', 'deflate', 'br'] as const) if (accepted.includes(coding)) return coding;
  return undefined;
}

export type RequestCoding = ContentCoding | 'identity';

/** The coding of a request body from its Content-Encoding header. */
export function requestEncodingOf(contentEncoding: string | undefined): RequestCoding {
  const value = (contentEncoding ?? '').trim().toLowerCase();
  if (value === '' || value === 'identity' || value === 'none') return 'identity';
  if (value === 'gzip' || value === 'x-gzip') return 'gzip';
  if (value === 'deflate') return 'deflate';
  if (value === 'br') return 'br';
  throw ClickHouseException.of('NOT_IMPLEMENTED', `Content-Encoding ${JSON.stringify(contentEncoding)} is not supported by chdb-server (gzip, deflate and br are)`);
}

export interface MultipartField {
  name: string;
  filename: string | undefined;
  value: Buffer;
}

/** The boundary of a multipart/form-data Content-Type, or undefined for any other type. */
export function multipartBoundary(contentType: string | undefined): string | undefined {
  if (!contentType || !/^multipart\/form-data\s*;/i.test(contentType)) return undefined;
  const match = /boundary=(?:"([^"]+)"|([^;\s]+))/i.exec(contentType);
  return match?.[1] ?? match?.[2];
}

/** Splits a multipart/form-data body (RFC 7578) into its fields. */
export function parseMultipart(body: Buffer, boundary: string): MultipartField[] {
  const delimiter = Buffer.from(`--${boundary}`);
  // Every delimiter after the first is preceded by the CRLF that ends the previous part.
  const separator = Buffer.from(`\r\n--${boundary}`);
  const fields: MultipartField[] = [];
  let position = body.indexOf(delimiter);
  if (position < 0) throw ClickHouseException.of('INCORRECT_DATA', 'multipart/form-data body without its boundary');
  position += delimiter.length;
  for (;;) {
    if (body[position] === 0x2d && body[position + 1] === 0x2d) break; // the closing "--boundary--"
    if (body[position] === 0x0d && body[position + 1] === 0x0a) position += 2;
    const partEnd = body.indexOf(separator, position);
    if (partEnd < 0) throw ClickHouseException.of('INCORRECT_DATA', 'multipart/form-data body is truncated');
    const headerEnd = body.indexOf('\r\n\r\n', position);
    if (headerEnd < 0 || headerEnd > partEnd) throw ClickHouseException.of('INCORRECT_DATA', 'multipart/form-data part without headers');
    const headers = body.subarray(position, headerEnd).toString('utf8');
    const disposition = /^content-disposition:\s*form-data(.*)$/im.exec(headers)?.[1] ?? '';
    const name = /;\s*name="([^"]*)"/i.exec(disposition)?.[1];
    if (name === undefined) throw ClickHouseException.of('INCORRECT_DATA', 'multipart/form-data part without a name');
    const filename = /;\s*filename="([^"]*)"/i.exec(disposition)?.[1];
    fields.push({ name, filename, value: body.subarray(headerEnd + 4, partEnd) });
    position = partEnd + separator.length;
  }
  return fields;
}

export interface Summary {
  read_rows: string;
  read_bytes: string;
  written_rows: string;
  written_bytes: string;
  total_rows_to_read: string;
  result_rows: string;
  result_bytes: string;
  elapsed_ns: string;
}

/** The X-ClickHouse-Summary object (all numbers as strings, as ClickHouse sends them). */
export function summaryOf(values: { readRows?: number; readBytes?: number; writtenRows?: number; writtenBytes?: number; resultRows?: number; resultBytes?: number; elapsedSeconds?: number }): Summary {
  const s = (n: number | undefined) => String(Math.max(0, Math.round(n ?? 0)));
  return {
    read_rows: s(values.readRows),
    read_bytes: s(values.readBytes),
    written_rows: s(values.writtenRows),
    written_bytes: s(values.writtenBytes),
    total_rows_to_read: '0',
    result_rows: s(values.resultRows),
    result_bytes: s(values.resultBytes),
    elapsed_ns: s((values.elapsedSeconds ?? 0) * 1e9),
  };
}
