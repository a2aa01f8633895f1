import { execFile } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { COMMANDS, registerCommands, type LazyCommand } from '../src/commands.ts';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const run = promisify(execFile);
const cli = (...args: string[]) => run(process.execPath, ['--import', 'tsx', path.join(ROOT, 'apps/cli/src/main.ts'), ...args], { cwd: ROOT });

/** The lazy command list with its loaders counted. */
function counted(): { commands: LazyCommand[]; loaded: string[] } {
  const loaded: string[] = [];
  const commands = COMMANDS.map((c) => ({ ...c, load: () => (loaded.push(c.name), c.load()) }));
  return { commands, loaded };
}

describe('floodgate CLI conventions', () => {
  it('--help and --version load no command module; a command loads only its own', async () => {
    for (const argv of [['--help'], ['--version'], [], ['help']]) {
      const { commands, loaded } = counted();
      await registerCommands(new Command('floodgate'), ['node', 'floodgate', ...argv], commands);
      expect(loaded, argv.join(' ')).toEqual([]);
    }
    const bench = counted();
    await registerCommands(new Command('floodgate'), ['node', 'floodgate', 'bench', 'constant', '--help'], bench.commands);
    expect(bench.loaded).toEqual(['bench']);
    const help = counted();
    await registerCommands(new Command('floodgate'), ['node', 'floodgate', 'help', 'status'], help.commands);
    expect(help.loaded).toEqual(['status']);
  });

  it('lists each command with the description its module registers', async () => {
    const full = new Command('floodgate');
    for (const c of COMMANDS) (await c.load())(full);
    const registered = new Map(full.commands.map((c) => [c.name(), c.description()]));
    expect([...registered.keys()].sort()).toEqual(COMMANDS.map((c) => c.name).sort());
    for (const c of COMMANDS) expect(c.description, c.name).toBe(registered.get(c.name));
  });

  it('prints its version with --version and every command with --help, exit 0', async () => {
    const version = await cli('--version');
    expect(version.stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/);
    const help = await cli('--help');
    for (const c of COMMANDS) expect(help.stdout).toMatch(new RegExp(`^  ${c.name}\\b`, 'm'));
    expect(help.stdout).toContain('-V, --version');
  });
});
