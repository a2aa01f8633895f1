import { Session } from 'chdb';
import { quoteIdentifier, summaryOf, ErrorCode, toClickHouseException, type SimpleInsert, type Summary } from './protocol.ts';
import { FloodgateError } from '@floodgate/errors';

/** A statement run as text: the query parameter and the body joined the way ClickHouse joins them. */
export interface SqlWork {
  kind: 'sql';
  sql: string;
  /** Output format when the SQL has no FORMAT clause (ClickHouse's default_format). */
  defaultFormat: string;
  /** An INSERT whose body was empty: ClickHouse answers OK with nothing written. */
  emptyInsert?: boolean;
}

/** An INSERT of the shape @clickhouse/client writes, with its rows as raw bytes. */
export interface RawInsertWork {
  kind: 'insert';
  insert: SimpleInsert;
  body: Buffer;
}

export interface EngineRequest {
  /** Current database for this query (ClickHouse's `database` parameter). */
  database: string | undefined;
  /** HTTP GET: ClickHouse runs it with readonly = 2. */
  readonly: boolean;
  /** `SET ...` carrying this request's settings and query parameters, built by buildSetStatement. */
  setStatement: string | undefined;
  work: SqlWork | RawInsertWork;
}

export interface EngineResult {
  body: Buffer;
  summary: Summary;
}

/**
 * The chDB side. One process owns the data folder through a long-lived primary session; every
 * request then runs on a fresh connection to the same folder (opening one costs ~0.1 ms), so its
 * `USE`, `SET` and `param_*` state dies with it, just as each HTTP request of a real server gets its
 * own query context. Callers serialise execute() calls (see SerialQueue): chDB runs queries off the
 * event loop, one at a time here.
 */
export class ChdbEngine {
  private primary: Session | undefined;
  private info = { version: 'unknown', timezone: 'UTC' };

  constructor(readonly dataDir: string) {}

  get version(): string {
    return this.info.version;
  }

  get timezone(): string {
    return this.info.timezone;
  }

  get isOpen(): boolean {
    return this.primary?.open ?? false;
  }

  async open(): Promise<void> {
    if (this.primary) return;
    let primary: Session;
    try {
      primary = new Session(this.dataDir);
    } catch (error) {
      throw new FloodgateError(
        'STACK_START_FAILED',
        `cannot open the chDB data folder ${this.dataDir}: ${(error as Error).message} ` +
          '(one process at a time can own it: is another chdb-server running on it?)',
        { cause: error },
      );
    }
    this.primary = primary;
    try {
      const result = await primary.queryAsync('SELECT version(), timezone()', { format: 'JSONCompactEachRow' });
      const [version, timezone] = JSON.parse(result.text()) as [string, string];
      this.info = { version, timezone };
    } catch (error) {
      this.close();
      throw error;
    }
  }

  async execute(request: EngineRequest): Promise<EngineResult> {
    if (!this.primary?.open) throw new FloodgateError('INTERNAL', 'chDB engine is not open');
    const session = new Session(this.dataDir);
    try {
      if (request.readonly) await session.queryAsync('SET readonly = 2');
      if (request.database !== undefined) await session.queryAsync(`USE ${quoteIdentifier(request.database)}`);
      if (request.setStatement !== undefined) await session.queryAsync(request.setStatement);
      const { work } = request;
      if (work.kind === 'insert') {
        const written = await session.insert({
          table: work.insert.table,
          columns: work.insert.columns,
          format: work.insert.format,
          values: work.body,
        });
        return {
          body: Buffer.alloc(0),
          summary: summaryOf({
            readRows: written.rowsWritten,
            readBytes: written.bytesWritten,
            writtenRows: written.rowsWritten,
            writtenBytes: written.bytesWritten,
            elapsedSeconds: written.elapsed,
          }),
        };
      }
      try {
        const result = await session.queryAsync(work.sql, { format: work.defaultFormat });
        const bytes = result.bytes();
        return {
          body: Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength),
          summary: summaryOf({
            readRows: result.rowsRead,
            readBytes: result.bytesRead,
            resultRows: result.rowsRead,
            resultBytes: result.bytesRead,
            elapsedSeconds: result.elapsed,
          }),
        };
      } catch (error) {
        if (work.emptyInsert && toClickHouseException(error).code === ErrorCode.NO_DATA_TO_INSERT) {
          return { body: Buffer.alloc(0), summary: summaryOf({}) };
        }
        throw error;
      }
    } finally {
      session.close();
    }
  }

  /** Releases the data folder. Call only when no execute() is running. Idempotent. */
  close(): void {
    this.primary?.close();
    this.primary = undefined;
  }
}
