// Writes the package manifests of the image's layout (deploy/docker/build-layout.sh and the
// Dockerfile run it): usage `node layout-manifests.mjs <repo> <out>`.
//   - each deployable workspace's package.json with its `exports` (and `bin`) pointing at the
//     compiled `.js` files instead of `./src/*.ts`;
//   - the root package.json without devDependencies, without the TypeScript loader (tsx) and
//     without the workspaces the image leaves out: the embedded ClickHouse endpoint (chDB, a
//     543 MB engine only the local stack uses) and the test kit.
// The lockfile is copied as it is; `npm install --omit=dev` prunes what these leave out.
import { mkdirSync, readFileSync, writeFileSync, copyFileSync } from 'node:fs';
import path from 'node:path';

const [repo, out] = process.argv.slice(2);
if (!repo || !out) {
  process.stderr.write('usage: node layout-manifests.mjs <repo> <out>\n');
  process.exit(64);
}
export const WORKSPACES = [
  'apps/cli',
  'apps/gateway',
  'apps/ingest-worker',
  'apps/sink-worker',
  'bench',
  ...['actors', 'clickhouse', 'config', 'errors', 'event-model', 'kafka', 'lifecycle', 'logging', 'nats', 'sink-protocol', 'tables', 'telemetry'].map((l) => `libs/${l}`),
];
const LEFT_OUT_DEPENDENCIES = ['tsx'];

const read = (file) => JSON.parse(readFileSync(path.join(repo, file), 'utf8'));
const write = (file, value) => {
  mkdirSync(path.dirname(path.join(out, file)), { recursive: true });
  writeFileSync(path.join(out, file), `${JSON.stringify(value, null, 2)}\n`);
};
const toJs = (value) => {
  if (typeof value === 'string') return value.replace(/\.ts$/, '.js');
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, toJs(v)]));
};

const root = read('package.json');
delete root.devDependencies;
delete root.scripts;
for (const name of LEFT_OUT_DEPENDENCIES) delete root.dependencies[name];
root.workspaces = WORKSPACES;
write('package.json', root);
copyFileSync(path.join(repo, 'package-lock.json'), path.join(out, 'package-lock.json'));

for (const workspace of WORKSPACES) {
  const manifest = read(`${workspace}/package.json`);
  if (manifest.exports) manifest.exports = toJs(manifest.exports);
  // The CLI's bin script runs the TypeScript through tsx; the image calls node on main.js itself.
  delete manifest.bin;
  for (const field of ['dependencies', 'devDependencies']) {
    if (manifest[field] && Object.keys(manifest[field]).length > 0) {
      throw new Error(`${workspace}/package.json has ${field}: the image's manifests do not handle them yet`);
    }
  }
  write(`${workspace}/package.json`, manifest);
}
