import { describe, expect, it } from 'vitest';
import { parseError } from '@clickhouse/client';
import {
  ClickHouseException,
  buildSetStatement,
  chooseResponseEncoding,
  contentTypeFor,
  errorBody,
  httpStatusForCode,
  isInsertQuery,
  multipartBoundary,
  outputFormatOf,
  parseMultipart,
  parseRequestParams,
  parseSimpleInsert,
  quoteIdentifier,
  quoteString,
  requestEncodingOf,
  settingValue,
  toClickHouseException,
} from '../src/protocol.ts';

describe('httpStatusForCode', () => {
  it('mirrors ClickHouse exceptionCodeToHTTPStatus', () => {
    expect(httpStatusForCode(62)).toBe(400); // SYNTAX_ERROR
    expect(httpStatusForCode(36)).toBe(400); // BAD_ARGUMENTS
    expect(httpStatusForCode(27)).toBe(400); // CANNOT_PARSE_INPUT_ASSERTION_FAILED
    expect(httpStatusForCode(53)).toBe(400); // TYPE_MISMATCH
    expect(httpStatusForCode(60)).toBe(404); // UNKNOWN_TABLE
    expect(httpStatusForCode(81)).toBe(404); // UNKNOWN_DATABASE
    expect(httpStatusForCode(115)).toBe(404); // UNKNOWN_SETTING
    expect(httpStatusForCode(73)).toBe(404); // UNKNOWN_FORMAT
    expect(httpStatusForCode(194)).toBe(401); // REQUIRED_PASSWORD
    expect(httpStatusForCode(516)).toBe(403); // AUTHENTICATION_FAILED
    expect(httpStatusForCode(497)).toBe(403); // ACCESS_DENIED
    expect(httpStatusForCode(229)).toBe(413); // QUERY_IS_TOO_LARGE
    expect(httpStatusForCode(48)).toBe(501); // NOT_IMPLEMENTED
    expect(httpStatusForCode(209)).toBe(503); // SOCKET_TIMEOUT
    expect(httpStatusForCode(159)).toBe(408); // TIMEOUT_EXCEEDED
    expect(httpStatusForCode(395)).toBe(500); // FUNCTION_THROW_IF_VALUE_IS_NON_ZERO: not listed
    expect(httpStatusForCode(164)).toBe(500); // READONLY: not listed either
  });
});

describe('errors', () => {
  it('parses chDB messages and keeps their code', () => {
    const e = toClickHouseException(new Error('Code: 60. DB::Exception: Table default.x does not exist. (UNKNOWN_TABLE)'));
    expect(e.code).toBe(60);
    expect(e.status).toBe(404);
  });

  it('turns other failures into STD_EXCEPTION', () => {
    const e = toClickHouseException(new TypeError('boom'));
    expect(e.code).toBe(1001);
    expect(e.message).toBe('Code: 1001. DB::Exception: boom. (STD_EXCEPTION)');
    expect(e.status).toBe(500);
  });

  it('lets the server override the status (overload is a 503)', () => {
    const e = ClickHouseException.of('TOO_MANY_SIMULTANEOUS_QUERIES', 'busy', { status: 503 });
    expect(e.status).toBe(503);
    expect(e.message).toBe('Code: 202. DB::Exception: busy. (TOO_MANY_SIMULTANEOUS_QUERIES)');
  });

  it('writes a body that @clickhouse/client parses back into code and type', () => {
    const body = errorBody('Code: 60. DB::Exception: Table default.x does not exist. (UNKNOWN_TABLE)', '26.7.2.1');
    expect(body).toBe('Code: 60. DB::Exception: Table default.x does not exist. (UNKNOWN_TABLE) (version 26.7.2.1)\n');
    const parsed = parseError(body) as { code: string; type: string; message: string };
    expect(parsed).toMatchObject({ code: '60', type: 'UNKNOWN_TABLE', message: 'Table default.x does not exist. ' });
  });

  it('does not add a second version suffix', () => {
    const nested = 'Code: 73. DB::Exception: Unknown format Nope. (UNKNOWN_FORMAT) (version 26.7.2.1)';
    expect(errorBody(nested, '26.7.2.1')).toBe(`${nested}\n`);
  });
});

describe('parseRequestParams', () => {
  const entries = (query: string) => [...new URLSearchParams(query)];

  it('splits settings, query parameters, reserved and special names like ClickHouse', () => {
    const p = parseRequestParams(
      entries(
        'query_id=q1&database=db1&default_format=JSON&param_name=it%5C%27s&param_ids=%5B1%2C2%5D&insert_deduplication_token=t1' +
          '&async_insert=1&user=u&password=p&session_id=s&wait_end_of_query=1&enable_http_compression=1&role=r&query=SELECT+1&&',
      ),
    );
    expect(p.queryId).toBe('q1');
    expect(p.database).toBe('db1');
    expect(p.defaultFormat).toBe('JSON');
    expect(p.query).toBe('SELECT 1');
    expect(p.queryParams).toEqual([
      ['name', "it\\'s"],
      ['ids', '[1,2]'],
    ]);
    expect(p.settings).toEqual([
      ['insert_deduplication_token', 't1'],
      ['async_insert', '1'],
      ['enable_http_compression', '1'],
    ]);
    expect(p.nativeCompression).toBe(false);
  });

  it('falls back to the X-ClickHouse-* headers', () => {
    const headers: Record<string, string> = { 'x-clickhouse-database': 'hdb', 'x-clickhouse-format': 'CSV', 'x-clickhouse-query-id': 'hq' };
    const p = parseRequestParams([], (name) => headers[name]);
    expect(p).toMatchObject({ database: 'hdb', defaultFormat: 'CSV', queryId: 'hq' });
  });

  it('flags ClickHouse native compression', () => {
    expect(parseRequestParams(entries('compress=1')).nativeCompression).toBe(true);
    expect(parseRequestParams(entries('decompress=0')).nativeCompression).toBe(false);
  });

  it('refuses setting and parameter names that are not identifiers', () => {
    expect(() => parseRequestParams(entries('max_threads%3D1%2C+readonly=0'))).toThrow(/UNKNOWN_SETTING/);
    expect(() => parseRequestParams(entries('param_x%3D1=2'))).toThrow(/BAD_ARGUMENTS/);
    expect(() => parseRequestParams(entries('default_format=JSON%20x'))).toThrow(/UNKNOWN_FORMAT/);
  });

  it('finds the last value of a setting', () => {
    const p = parseRequestParams(entries('enable_http_compression=0&enable_http_compression=1'));
    expect(settingValue(p, 'enable_http_compression')).toBe('1');
    expect(settingValue(p, 'max_threads')).toBeUndefined();
  });
});

describe('quoting', () => {
  it('quotes strings so that no value can leave the literal', () => {
    expect(quoteString("a'b")).toBe("'a\\'b'");
    expect(quoteString('a\\')).toBe("'a\\\\'");
    expect(quoteString("\\' OR 1=1 --")).toBe("'\\\\\\' OR 1=1 --'");
    expect(quoteString('a\0b')).toBe("'a\\0b'");
    expect(quoteString('line\nbreak')).toBe("'line\nbreak'");
  });

  it('quotes identifiers', () => {
    expect(quoteIdentifier('db')).toBe('`db`');
    expect(quoteIdentifier('we`ird\\')).toBe('`we\\`ird\\\\`');
  });

  it('builds one SET statement for settings and parameters', () => {
    expect(buildSetStatement([], [])).toBeUndefined();
    expect(buildSetStatement([['max_threads', '1'], ['insert_deduplication_token', "x'y"]], [['name', "it\\'s"]])).toBe(
      "SET max_threads = '1', insert_deduplication_token = 'x\\'y', param_name = 'it\\\\\\'s'",
    );
    expect(() => buildSetStatement([['a = 1; DROP TABLE t', '1']], [])).toThrow(/UNKNOWN_SETTING/);
  });
});

describe('parseSimpleInsert', () => {
  it('recognises the INSERT that @clickhouse/client writes', () => {
    expect(parseSimpleInsert('INSERT INTO db.events (id, tenant, kafka_offset) FORMAT JSONEachRow')).toEqual({
      table: 'db.events',
      columns: ['id', 'tenant', 'kafka_offset'],
      format: 'JSONEachRow',
    });
    expect(parseSimpleInsert('insert into t format CSV')).toEqual({ table: 't', columns: undefined, format: 'CSV' });
    expect(parseSimpleInsert('  INSERT INTO t FORMAT TabSeparated ;\n')).toMatchObject({ format: 'TabSeparated' });
  });

  it('leaves every other shape to the general path', () => {
    expect(parseSimpleInsert('INSERT INTO `my db`.t FORMAT JSONEachRow')).toBeUndefined();
    expect(parseSimpleInsert('INSERT INTO t (* EXCEPT (id)) FORMAT JSONEachRow')).toBeUndefined();
    expect(parseSimpleInsert('INSERT INTO t SETTINGS async_insert=1 FORMAT JSONEachRow')).toBeUndefined();
    expect(parseSimpleInsert('INSERT INTO t FORMAT RowBinary')).toBeUndefined();
    expect(parseSimpleInsert('INSERT INTO t FORMAT jsoneachrow')).toBeUndefined(); // chDB's whitelist is case-sensitive
    expect(parseSimpleInsert('INSERT INTO t SELECT 1')).toBeUndefined();
    expect(parseSimpleInsert('INSERT INTO t FORMAT JSONEachRow {"a":1}')).toBeUndefined();
  });

  it('tells INSERTs apart, past leading comments', () => {
    expect(isInsertQuery('-- note\n/* x */ insert INTO t VALUES (1)')).toBe(true);
    expect(isInsertQuery('SELECT 1 -- INSERT')).toBe(false);
  });
});

describe('formats and codings', () => {
  it('reads the output format from a trailing FORMAT clause', () => {
    expect(outputFormatOf('SELECT 1 \nFORMAT JSONEachRow', 'TabSeparated')).toBe('JSONEachRow');
    expect(outputFormatOf('SELECT 1;', 'TabSeparated')).toBe('TabSeparated');
  });

  it('declares the content type of a format', () => {
    expect(contentTypeFor('JSONEachRow')).toBe('application/json; charset=UTF-8');
    expect(contentTypeFor('TabSeparated')).toBe('text/tab-separated-values; charset=UTF-8');
    expect(contentTypeFor('CSVWithNames')).toBe('text/csv; charset=UTF-8; header=present');
    expect(contentTypeFor('RowBinary')).toBe('application/octet-stream');
    expect(contentTypeFor('Pretty')).toBe('text/plain; charset=UTF-8');
  });

  it('compresses answers only when enable_http_compression is on and the client accepts it', () => {
    expect(chooseResponseEncoding('gzip', true)).toBe('gzip');
    expect(chooseResponseEncoding('br, deflate', true)).toBe('deflate');
    expect(chooseResponseEncoding('gzip', false)).toBeUndefined();
    expect(chooseResponseEncoding(undefined, true)).toBeUndefined();
  });

  it('knows request body codings', () => {
    expect(requestEncodingOf(undefined)).toBe('identity');
    expect(requestEncodingOf('GZIP')).toBe('gzip');
    expect(requestEncodingOf('br')).toBe('br');
    expect(() => requestEncodingOf('lz4')).toThrow(/NOT_IMPLEMENTED/);
  });
});

describe('multipart', () => {
  it('parses the body @clickhouse/client sends with use_multipart_params', () => {
    const boundary = '----clickhouse-js-123';
    const body = Buffer.from(
      `--${boundary}\r\nContent-Disposition: form-data; name="query"\r\n\r\nSELECT {v:String}\r\n` +
        `--${boundary}\r\nContent-Disposition: form-data; name="param_v"\r\n\r\nline1\\nline2\r\n\r\n` +
        `--${boundary}--\r\n`,
    );
    expect(multipartBoundary(`multipart/form-data; boundary=${boundary}`)).toBe(boundary);
    expect(multipartBoundary('text/plain')).toBeUndefined();
    const fields = parseMultipart(body, boundary).map((f) => [f.name, f.value.toString(), f.filename]);
    expect(fields).toEqual([
      ['query', 'SELECT {v:String}', undefined],
      ['param_v', 'line1\\nline2\r\n', undefined],
    ]);
  });

  it('rejects a truncated body', () => {
    expect(() => parseMultipart(Buffer.from('--b\r\nContent-Disposition: form-data; name="q"\r\n\r\nx'), 'b')).toThrow(/INCORRECT_DATA/);
  });
});
