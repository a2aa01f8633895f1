export { sinkControlPlane, memberKeys, batchKey } from './control-plane.ts';
export type {
  SinkControlPlane,
  ErrorInfo,
  FlushInfo,
  ProcessState,
  ProcessRecord,
  ReconnectInfo,
  ActorState,
  ActorRecord,
  FailingStep,
  StuckInfo,
  SupervisorWorker,
  SupervisorRecord,
  MemberRecord,
  SinkCommand,
  SinkCommandResult,
  SupervisorCommand,
  SupervisorCommandResult,
} from './control-plane.ts';
export { readMembers } from './members.ts';
export type { Members } from './members.ts';
export type { ErrorClass, Health, PartitionError, PartitionView, StatusView } from './status-view.ts';
