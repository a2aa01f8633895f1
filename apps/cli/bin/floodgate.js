#!/usr/bin/env node
// `floodgate` command: runs ../src/main.ts in a child Node with the repository's tsx loader
// (`--import tsx`, inherited by worker threads and by `process.execArgv` users), passing the
// arguments through and handing back its exit code or signal.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const main = fileURLToPath(new URL('../src/main.ts', import.meta.url));
let tsx;
try {
  tsx = import.meta.resolve('tsx');
} catch {
  process.stderr.write('floodgate: error STACK_DEPENDENCY_MISSING: tsx is not installed; run `npm install` at the repository root\n');
  process.exit(1);
}

const child = spawn(process.execPath, [...process.execArgv, '--import', tsx, main, ...process.argv.slice(2)], {
  stdio: 'inherit',
});

// A terminal's Ctrl-C reaches the whole foreground group, child included: wait for the child to
// act on it. A signal sent to this process alone is passed on.
const forward = (signal) => {
  if (child.exitCode === null && child.signalCode === null) child.kill(signal);
};
process.on('SIGINT', () => {});
process.on('SIGTERM', forward);
process.on('SIGHUP', forward);

child.on('error', (error) => {
  process.stderr.write(`floodgate: error INTERNAL: cannot start ${process.execPath}: ${error.message}\n`);
  process.exit(1);
});
child.on('exit', (code, signal) => {
  if (signal) {
    // Die of the same signal, so callers see what happened.
    process.removeAllListeners(signal);
    process.kill(process.pid, signal);
    return;
  }
  process.exit(code ?? 1);
});
