import path from 'node:path';
import type { Command } from 'commander';
import { loadConfig, stackSchema } from '@floodgate/config';
import { onStopRequest, startPipeline } from '@floodgate/lifecycle';
import { stackUp } from '../stack/index.ts';
import { devApiKey } from './dev-key.ts';

/** `floodgate start`: brings the stack up, then runs gateway and sink, supervised, in the foreground. */
export function registerRunCommands(program: Command): void {
  program
    .command('start')
    .description('bring the local stack up and run gateway + sink (under its supervisor) in the foreground, restarting any process that dies (Ctrl-C stops the pipeline, the stack keeps running)')
    .action(async () => {
      const config = loadConfig(stackSchema);
      await stackUp(config);
      const env: NodeJS.ProcessEnv = {};
      let keyLine = '';
      let authHeader = '';
      const keysConfigured = process.env.FLOODGATE_API_KEYS || process.env.FLOODGATE_API_KEYS_FILE;
      if (!keysConfigured && process.env.FLOODGATE_AUTH !== 'off') {
        const { key, file } = devApiKey(config.FLOODGATE_HOME);
        env.FLOODGATE_API_KEYS = `dev:${key}`;
        keyLine = `development API key (tenant "dev"): ${key}  (kept in ${path.relative(process.cwd(), file) || file})`;
        authHeader = ` -H 'authorization: Bearer ${key}'`;
      }
      // The freshness canary (docs/metrics.md) runs under `floodgate start` unless set otherwise.
      if (process.env.GATEWAY_CANARY_INTERVAL_MS === undefined) env.GATEWAY_CANARY_INTERVAL_MS = '5000';
      // A busy machine can take longer than the default minute to start both apps.
      const pipeline = await startPipeline({ env, startTimeoutMs: Math.max(60_000, config.STACK_START_TIMEOUT_MS) });
      const url = pipeline.gatewayUrl;
      process.stderr.write(
        [
          '',
          `floodgate is running: ingest at ${url}/v1/events (WebSocket ${url.replace('http', 'ws')}/v1/stream), admin at ${pipeline.adminUrl}`,
          keyLine,
          'try:',
          `  curl -s -XPOST ${url}/v1/events -H 'content-type: application/json'${authHeader} -d '{"type":"signup","data":{"plan":"pro"}}'`,
          'every process is supervised: a gateway or sink process that dies is restarted with backoff (floodgate status shows the sink).',
          'Ctrl-C stops gateway and sink; the stack keeps running (npx floodgate stack down stops it).',
          '',
        ]
          .filter((line, i) => i !== 2 || line !== '')
          .join('\n'),
      );
      await new Promise<void>((resolve) => {
        let stopping = false;
        const stop = () => {
          if (stopping) return;
          stopping = true;
          process.stderr.write('stopping gateway and sink...\n');
          void pipeline.stop().then(resolve);
        };
        onStopRequest(stop);
      });
    });
}
