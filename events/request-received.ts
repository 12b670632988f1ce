/**
 * ssis.request.received — one accepted inference request.
 * Producer: request fn (HTTP ingress). Consumer: request fn (dispatch stage: cold start).
 * Partition key: the model service. Never carries secrets: only the *names* of env keys.
 */
export const REQUEST_RECEIVED = 'ssis.request.received';

export type RequestApi = 'ssis' | 'openai-completions' | 'openai-chat';

export interface RequestReceived {
  readonly requestId: string;
  /** Model key derived from MODEL_ID as the reference Dispatcher does (notes/ssis.md §1.3). */
  readonly service: string;
  readonly modelId: string;
  readonly api: RequestApi;
  readonly serviceClass: string;
  readonly inputTokens: number;
  readonly maxNewTokens: number | null;
  /** Per-request latency SLO from label `slo` (seconds in the reference, milliseconds here), if given. */
  readonly sloMs: number | null;
  /** Names of the env entries the request carried (values are never copied: they hold tokens). */
  readonly envKeys: readonly string[];
  readonly receivedAt: string;
}
