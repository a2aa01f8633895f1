export { uniqueName } from './names.ts';
export { stackConfigForTests } from './stack.ts';
export { waitFor } from './wait.ts';
export type { WaitForOptions } from './wait.ts';
export { freePort, freePortBlock } from './ports.ts';
export { startPrivateKafka, sharedNatsCredentials } from './private-kafka.ts';
export type { PrivateKafka, PrivateKafkaOptions } from './private-kafka.ts';
export { metricValue, scrapeMetrics } from './metrics.ts';
export { stopProcess, threadStates } from './signals.ts';
// The pipeline launcher is the one `floodgate start` runs (libs/lifecycle); tests start it the same way.
export { startPipeline } from '@floodgate/lifecycle';
export type { PipelineOptions, RunningPipeline } from '@floodgate/lifecycle';
export {
  REPO_ROOT,
  AppProcess,
  ControlPlaneProbe,
  EventProducer,
  createTopics,
  deleteTopics,
  exactlyOnce,
  groupLag,
  launchSink,
  newEvent,
  runCli,
  scalar,
  sinkEnv,
  startChdbServer,
  startSink,
  startSupervisor,
  tableIds,
  tableTotals,
  testClickHouse,
  testKafka,
  testNames,
  toMessage,
  waitForLagZero,
  waitForRows,
} from './harness.ts';
export type { LogEntry, MembersView, TestEvent, TestNames } from './harness.ts';
export { SinkTestBed, useSinkTestBed } from './sink-test-bed.ts';
export type { LandedTimeouts, SinkTestBedOptions } from './sink-test-bed.ts';
