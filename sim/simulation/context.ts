/**
 * What every part of a run shares: the cluster, the request table, the event queue, the services'
 * state, the policy and the accounting. Built once by ./setup; the event handlers take it as
 * their first argument instead of closing over one another's variables.
 */
import type { SimCluster } from '../cluster';
import type { EventQueue } from '../event-queue';
import type { PolicyContext, ScaleCommand, SimPolicy } from '../policies/port';
import type { RequestTable } from '../request-table';
import type { Scenario } from '../scenario';
import type { RunAccounting } from './accounting';
import type { ArrivalFeed } from './arrivals';
import type { PlotRecorder } from './plot-series';
import type { Replica, ServiceRuntime } from './runtime';

/** Event kinds of the queue; an event's reference is named beside each. */
export const EventKind = {
  /** ref: the arrival source. */
  arrival: 0,
  /** ref: the replica whose engine step ends. */
  stepEnd: 1,
  /** The policy's control loop runs. */
  tick: 2,
  /** ref: the replica that has finished starting. */
  ready: 3,
  /** ref: the command (index into Simulation.commands) to carry out. */
  actuate: 4,
  /** A point of the plots' time series. */
  record: 5,
} as const;

export interface Simulation {
  readonly scenario: Scenario;
  readonly policy: SimPolicy;
  /** What the policy sees of the run. */
  readonly policyContext: PolicyContext;
  readonly cluster: SimCluster;
  readonly requests: RequestTable;
  readonly queue: EventQueue;
  /** In scenario order. */
  readonly services: readonly ServiceRuntime[];
  readonly serviceByName: ReadonlyMap<string, ServiceRuntime>;
  /** Every replica of the run, gone ones included, indexed by id. */
  readonly replicas: Replica[];
  /** Every command the policy decided, indexed by its actuation event's reference. */
  readonly commands: ScaleCommand[];
  readonly arrivals: ArrivalFeed;
  readonly plots: PlotRecorder;
  readonly accounting: RunAccounting;
}
