import { defineConfig } from 'vitest/config';

// Two projects so the fast unit tests can run alone (`npm run test:unit`). Integration tests share
// one local stack (Kafka, NATS, ClickHouse) on a 2-core machine, so they run one file at a time;
// each test uses its own topic, table and consumer group. The unit project runs first, on its own
// (groupOrder): some of its tests time real schedulers and must not share the two cores with a
// Kafka-heavy integration test.
export default defineConfig({
  test: {
    reporters: ['default'],
    projects: [
      {
        test: {
          name: 'unit',
          include: ['{apps,libs,bench,deploy}/**/test/**/*.unit.test.ts'],
          sequence: { groupOrder: 0 },
        },
      },
      {
        test: {
          name: 'integration',
          include: ['{apps,libs,bench,deploy}/**/test/**/*.int.test.ts'],
          fileParallelism: false,
          sequence: { groupOrder: 1 },
          testTimeout: 180_000,
          hookTimeout: 180_000,
        },
      },
    ],
  },
});
