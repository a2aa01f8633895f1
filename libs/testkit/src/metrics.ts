/** Reading an app's Prometheus metrics in tests. */

import { AssertionError } from 'node:assert';

/** The admin port's /metrics, on a new connection (no race with its keep-alive timeout). */
export async function scrapeMetrics(adminUrl: string): Promise<string> {
  const response = await fetch(`${adminUrl}/metrics`, { headers: { connection: 'close' } });
  if (response.status !== 200) throw new AssertionError({ message: `/metrics answered ${response.status}` });
  return response.text();
}

/**
 * The value of a metric in Prometheus text, summed over the series whose labels include `labels`
 * (`'route="/v1/stream"'`); undefined when no series of that name is there.
 */
export function metricValue(metrics: string, name: string, labels = ''): number | undefined {
  let total: number | undefined;
  for (const line of metrics.split('\n')) {
    const match = /^([a-z_:]+)(\{[^}]*\})? (\S+)$/.exec(line);
    if (!match || match[1] !== name || (labels && !(match[2] ?? '').includes(labels))) continue;
    total = (total ?? 0) + Number(match[3]);
  }
  return total;
}
