import type { Command } from 'commander';
import { loadConfig, stackSchema } from '@floodgate/config';
import { stackUp } from '../stack/index.ts';
import { startPipeline } from './pipeline.ts';

/** `floodgate start`: brings the stack up, then runs gateway and sink in the foreground. */
export function registerRunCommands(program: Command): void {
  program
    .command('start')
    .description('bring the local stack up and run gateway + sink in the foreground (Ctrl-C stops the pipeline, the stack keeps running)')
    .action(async () => {
      const config = loadConfig(stackSchema);
      await stackUp(config);
      const pipeline = await startPipeline();
      const url = pipeline.gatewayUrl;
      process.stderr.write(
        [
          '',
          `floodgate is running: ingest at ${url}/v1/events`,
          'try:',
          `  curl -s -XPOST ${url}/v1/events -H 'content-type: application/json' -d '{"type":"signup","data":{"plan":"pro"}}'`,
          'Ctrl-C stops gateway and sink; the stack keeps running (npx floodgate stack down stops it).',
          '',
        ].join('\n'),
      );
      await new Promise<void>((resolve) => {
        let stopping = false;
        const stop = () => {
          if (stopping) return;
          stopping = true;
          process.stderr.write('stopping gateway and sink...\n');
          void pipeline.stop().then(resolve);
        };
        process.on('SIGINT', stop);
        process.on('SIGTERM', stop);
      });
    });
}
