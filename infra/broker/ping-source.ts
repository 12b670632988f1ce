/**
 * PingSource for the embedded mode: fires `dev.knative.sources.ping` events into the broker on
 * the manifest's schedule (checked every second), with Knative's source and type.
 */
import type { Clock, IdSource } from '../../core/common/ports';
import type { SsisEvent } from '../../events/envelope';
import { PING_EVENT_TYPE } from '../../events/registry';
import type { PingSourceManifest } from '../knative/types';
import type { BrokerPublish } from './embedded-broker';
import { parseCron, type CronSchedule } from './cron';

export interface PingSourceRunner {
  stop(): void;
}

export function pingSourceEvent(ps: PingSourceManifest, atMs: number, id: string): SsisEvent {
  let data: unknown = {};
  if (ps.data !== undefined && ps.data !== '') {
    try {
      data = JSON.parse(ps.data) as unknown;
    } catch {
      data = { raw: ps.data };
    }
  }
  return {
    specversion: '1.0',
    id,
    type: PING_EVENT_TYPE,
    source: `/apis/v1/namespaces/${ps.namespace}/pingsources/${ps.name}`,
    time: new Date(atMs).toISOString(),
    datacontenttype: 'application/json',
    partitionkey: ps.name,
    data,
  };
}

/** Starts firing; `everySec` overrides the schedule (embedded runs sample faster than the cluster). */
export function runPingSource(ps: PingSourceManifest, broker: BrokerPublish, deps: { clock: Clock; ids: IdSource; everySec?: number; onError?: (err: unknown) => void }): PingSourceRunner {
  const schedule: CronSchedule = deps.everySec ? { source: `every ${deps.everySec}s`, matches: (d) => Math.floor(d.getTime() / 1000) % deps.everySec! === 0 } : parseCron(ps.schedule, ps.timezone);
  let lastSecond = -1;
  const timer = setInterval(() => {
    const now = deps.clock.nowMs();
    const second = Math.floor(now / 1000);
    if (second === lastSecond) return;
    lastSecond = second;
    if (!schedule.matches(new Date(second * 1000))) return;
    broker.publish(pingSourceEvent(ps, second * 1000, deps.ids.next())).catch((err: unknown) => deps.onError?.(err));
  }, 200);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}
