export { createChdbServer } from './server.ts';
export type { ChdbServerOptions } from './server.ts';
