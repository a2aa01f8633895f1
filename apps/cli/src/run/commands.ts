import type { Command } from 'commander';

/** `floodgate start`: runs gateway and sink in the foreground. Filled in by the pipeline work. */
export function registerRunCommands(program: Command): void {
  void program;
}
