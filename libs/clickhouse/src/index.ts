export { createClickHouse } from './client.ts';
export type { ClickHouseOptions } from './client.ts';
export { migrate, MIGRATION_RANGES, MIGRATIONS } from './migrations.ts';
export type { Migration, MigrateOptions } from './migrations.ts';
