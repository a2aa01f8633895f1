// Entry file of a load thread. On Node 20 a worker's entry and its import() calls do not go
// through the tsx loader hooks, but require() does (as in piscina's workers), so this plain CommonJS
// file requires the TypeScript module (which therefore uses no top-level await).
require('./load-worker.ts');
