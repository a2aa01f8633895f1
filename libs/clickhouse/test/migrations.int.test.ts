import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClickHouseClient } from '@clickhouse/client';
import { clickhouseUrl } from '@floodgate/config';
import { stackConfigForTests, uniqueName } from '@floodgate/testkit';
import { createClickHouse, migrate } from '../src/index.ts';

/**
 * The events table's identity on the real ClickHouse: an event is identified by its tenant, source
 * and id (CloudEvents makes only source + id unique), for new databases and for a table created
 * before the sorting key had `source` (migration 3 rebuilds it, keeping every row).
 */
describe('clickhouse migrations: events identified by tenant, source and id', () => {
  const stack = stackConfigForTests();
  const databases: string[] = [];
  let client: ClickHouseClient;

  beforeAll(() => {
    client = createClickHouse({ url: clickhouseUrl(stack), username: stack.CLICKHOUSE_USER, password: stack.CLICKHOUSE_PASSWORD, database: 'default' });
  });

  afterAll(async () => {
    for (const db of databases) await client.command({ query: `DROP DATABASE IF EXISTS ${db}` }).catch(() => {});
    await client.close();
  });

  function newDatabase(label: string): string {
    const db = uniqueName(`it_mig_${label}`);
    databases.push(db);
    return db;
  }

  function event(id: string, source: string, offset: number, month = '01'): Record<string, unknown> {
    const time = `2026-${month}-15 12:00:00.000`;
    return { id, tenant: 'default', type: 'order', source, subject: '', time, received_at: time, data: '{}', trace_id: '', kafka_partition: 0, kafka_offset: offset };
  }

  async function insert(db: string, rows: Array<Record<string, unknown>>): Promise<void> {
    await client.insert({ table: `${db}.events`, values: rows, format: 'JSONEachRow' });
  }

  async function rows<T>(query: string): Promise<T[]> {
    const result = await client.query({ query, format: 'JSONEachRow' });
    return result.json<T>();
  }

  async function count(query: string): Promise<number> {
    const [row] = await rows<{ n: string }>(query);
    return Number(row?.n ?? -1);
  }

  async function tables(db: string): Promise<string[]> {
    return (await rows<{ name: string }>(`SELECT name FROM system.tables WHERE database = '${db}' ORDER BY name`)).map((r) => r.name);
  }

  async function sortingKey(db: string): Promise<string | undefined> {
    const [row] = await rows<{ sorting_key: string }>(`SELECT sorting_key FROM system.tables WHERE database = '${db}' AND name = 'events'`);
    return row?.sorting_key;
  }

  it('two events with id "1" from sources /a and /b are two rows under FINAL and in events_unique; the same source and id twice is one', async () => {
    const db = newDatabase('ids');
    await migrate(client, db);
    // Separate inserts (parts), as the sink's batches are, so only FINAL / the view collapses them.
    await insert(db, [event('1', '/a', 0)]);
    await insert(db, [event('1', '/b', 1)]);
    await insert(db, [event('1', '/a', 2)]); // a client retry of the first
    expect(await count(`SELECT count() AS n FROM ${db}.events`)).toBe(3);
    expect(await count(`SELECT count() AS n FROM ${db}.events FINAL`)).toBe(2);
    expect(await count(`SELECT count() AS n FROM ${db}.events_unique`)).toBe(2);
    expect(await rows(`SELECT source FROM ${db}.events_unique ORDER BY source`)).toEqual([{ source: '/a' }, { source: '/b' }]);
    expect(await sortingKey(db)).toBe('tenant, type, source, id');
  });

  it('an events table keyed without source is rebuilt with source in its key, keeping every row; migrating again changes nothing', async () => {
    const db = newDatabase('rekey');
    expect(await migrate(client, db, { versions: [0, 2] })).toEqual([1, 2]);
    expect(await sortingKey(db)).toBe('tenant, type, id');
    // Rows in two month partitions and several parts.
    await insert(db, [event('e1', '/a', 0), event('e2', '/a', 1, '02')]);
    await insert(db, [event('e3', '/b', 2), event('e4', '/b', 3, '03')]);
    await insert(db, [event('e5', '', 4)]);

    expect(await migrate(client, db)).toContain(3);
    expect(await sortingKey(db)).toBe('tenant, type, source, id');
    expect(await tables(db)).not.toContain('events_rekey_old');
    expect(await rows(`SELECT id, source, toUInt32(kafka_offset) AS offset FROM ${db}.events ORDER BY id`)).toEqual([
      { id: 'e1', source: '/a', offset: 0 },
      { id: 'e2', source: '/a', offset: 1 },
      { id: 'e3', source: '/b', offset: 2 },
      { id: 'e4', source: '/b', offset: 3 },
      { id: 'e5', source: '', offset: 4 },
    ]);
    // The rebuilt table is the events table: new rows with the same id from another source stay apart.
    await insert(db, [event('e1', '/b', 5)]);
    expect(await count(`SELECT count() AS n FROM ${db}.events_unique WHERE id = 'e1'`)).toBe(2);

    expect(await migrate(client, db)).toEqual([]);
    expect(await count(`SELECT count() AS n FROM ${db}.events`)).toBe(6);
  });

  it('a rebuild interrupted after the old table was set aside completes on the next run, keeping every row', async () => {
    const db = newDatabase('resume');
    await migrate(client, db, { versions: [0, 2] });
    await insert(db, [event('r1', '/a', 0), event('r2', '/b', 1, '02')]);
    await insert(db, [event('r3', '/a', 2)]);
    // What a process that died right after the first step of the rebuild leaves behind.
    await client.command({ query: `RENAME TABLE ${db}.events TO ${db}.events_rekey_old` });

    expect(await migrate(client, db)).toContain(3);
    expect(await sortingKey(db)).toBe('tenant, type, source, id');
    expect(await tables(db)).not.toContain('events_rekey_old');
    expect(await rows(`SELECT id FROM ${db}.events ORDER BY id`)).toEqual([{ id: 'r1' }, { id: 'r2' }, { id: 'r3' }]);
  });

  it('a rebuild interrupted between copying a part and dropping it completes without copying the part twice', async () => {
    const db = newDatabase('recopy');
    await migrate(client, db, { versions: [0, 2] });
    await insert(db, [event('c1', '/a', 0), event('c2', '/b', 1)]);
    await insert(db, [event('c3', '/a', 2)]);
    // What a process that died after copying the first part (with the rebuild's per-part token) leaves behind.
    await client.command({ query: `RENAME TABLE ${db}.events TO ${db}.events_rekey_old` });
    await client.command({
      query: `CREATE TABLE ${db}.events AS ${db}.events_rekey_old ENGINE = ReplacingMergeTree PARTITION BY toYYYYMM(time) ORDER BY (tenant, type, source, id) SETTINGS non_replicated_deduplication_window = 10000`,
    });
    const [part] = await rows<{ name: string }>(`SELECT name FROM system.parts WHERE database = '${db}' AND table = 'events_rekey_old' AND active ORDER BY name LIMIT 1`);
    await client.command({
      query: `INSERT INTO ${db}.events SELECT * FROM ${db}.events_rekey_old WHERE _part = '${part!.name}'`,
      clickhouse_settings: { insert_deduplicate: 1, insert_deduplication_token: `rekey-events:${part!.name}`, max_threads: 1, max_insert_threads: '1' },
    });

    expect(await migrate(client, db)).toContain(3);
    expect(await tables(db)).not.toContain('events_rekey_old');
    expect(await rows(`SELECT id FROM ${db}.events ORDER BY id`)).toEqual([{ id: 'c1' }, { id: 'c2' }, { id: 'c3' }]);
  });
});
