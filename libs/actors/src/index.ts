export { ActorSupervisor, ActorStoppedError } from './actor.ts';
export type {
  ActorContext,
  ActorExit,
  ActorFactory,
  ActorRef,
  ActorStatus,
  Behavior,
  SpawnOptions,
  StopReason,
  ActorSupervisorEvent,
  ActorSupervisorOptions,
} from './actor.ts';
export { backoffDelay, sleep } from './backoff.ts';
export type { BackoffOptions } from './backoff.ts';
export { RestartTracker } from './restart-policy.ts';
export type { RestartDecision, RestartPolicyOptions } from './restart-policy.ts';
export { Mailbox } from './mailbox.ts';
