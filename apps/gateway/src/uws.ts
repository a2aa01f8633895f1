/**
 * The one place that loads uWebSockets.js. It is not on the npm registry under its own name; the
 * build that loads on Node 20 / glibc 2.36 is @trufflesuite/uws-js-unofficial. Its entry point
 * silently falls back to a slow JavaScript server when the native binary fails to load, so we load
 * the native binary ourselves and fail loudly instead.
 */
import { createRequire } from 'node:module';
import { FloodgateError } from '@floodgate/errors';
import type * as UwsTypes from '@trufflesuite/uws-js-unofficial';

export type { HttpRequest, HttpResponse, TemplatedApp, us_listen_socket, WebSocket } from '@trufflesuite/uws-js-unofficial';

const require = createRequire(import.meta.url);
const binary = `@trufflesuite/uws-js-unofficial/binaries/uws_${process.platform}_${process.arch}_${process.versions.modules}.node`;

function loadNative(): typeof UwsTypes {
  try {
    return require(binary) as typeof UwsTypes;
  } catch (cause) {
    throw new FloodgateError(
      'STACK_DEPENDENCY_MISSING',
      `uWebSockets.js native binary ${binary} does not load on this Node ${process.version}; refusing the slow fallback: ${(cause as Error).message}`,
      { cause },
    );
  }
}

export const uws = loadNative();
