export { createClickHouse } from './client.ts';
export type { ClickHouseOptions } from './client.ts';
export { migrate, MIGRATIONS } from './migrations.ts';
export type { Migration, MigrateOptions } from './migrations.ts';
