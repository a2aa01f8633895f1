import { JsonBucket, type NatsConnection } from '@floodgate/nats';
import { sinkControlPlane, type ActorRecord, type MemberRecord, type ProcessRecord, type SupervisorRecord } from './control-plane.ts';

export interface Members {
  supervisors: SupervisorRecord[];
  processes: ProcessRecord[];
  actors: ActorRecord[];
}

/**
 * Everything alive in the members bucket of the sink running under NATS prefix `prefix` (entries
 * expire SINK_MEMBER_TTL_MS after their last heartbeat): processes by id, actors by topic and
 * partition. Empty when no sink ever ran with this prefix.
 */
export async function readMembers(nc: NatsConnection, prefix: string): Promise<Members> {
  const plane = sinkControlPlane(prefix);
  const out: Members = { supervisors: [], processes: [], actors: [] };
  let bucket: JsonBucket<MemberRecord>;
  try {
    bucket = await JsonBucket.open<MemberRecord>(nc, plane.membersBucket, { existing: true });
  } catch (error) {
    // No sink ever ran with this prefix: nothing is live.
    if ((error as { context?: { missing?: boolean } }).context?.missing) return out;
    throw error;
  }
  const entries = await bucket.entries();
  for (const { value } of entries) {
    if (value.kind === 'supervisor') out.supervisors.push(value);
    else if (value.kind === 'process') out.processes.push(value);
    else if (value.kind === 'actor') out.actors.push(value);
  }
  out.processes.sort((a, b) => a.id.localeCompare(b.id));
  out.actors.sort((a, b) => a.topic.localeCompare(b.topic) || a.partition - b.partition);
  return out;
}
