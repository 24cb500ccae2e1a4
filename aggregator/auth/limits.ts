import { QueryError, type QuerySpec } from '../query/index.js';

/** A client sent more requests than its share: HTTP 429, gRPC RESOURCE_EXHAUSTED. */
export class RateLimitError extends Error {
  override readonly name = 'RateLimitError';
}

/**
 * One token bucket per client (a remote address, or an authenticated user): `perSecond`
 * requests on average, bursts of `burst`. Idle full buckets are dropped, so memory follows the
 * clients active within the last few seconds.
 */
export class RateLimiter {
  private readonly buckets = new Map<string, { tokens: number; atMs: number }>();

  constructor(
    private readonly perSecond: number,
    private readonly burst: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** Takes one token of `client`'s bucket, or throws RateLimitError. */
  take(client: string): void {
    const bucket = this.refill(client);
    if (bucket.tokens < 1) throw new RateLimitError(`too many requests from ${client}: at most ${this.perSecond} per second (bursts of ${this.burst}); retry in ${Math.ceil(((1 - bucket.tokens) / this.perSecond) * 1000)} ms`);
    bucket.tokens -= 1;
  }

  /** Throws RateLimitError when `client`'s bucket is empty, without taking a token. */
  check(client: string): void {
    const bucket = this.refill(client);
    if (bucket.tokens < 1) throw new RateLimitError(`too many failed attempts from ${client}: at most ${this.perSecond} per second (bursts of ${this.burst})`);
  }

  /** Takes a token if there is one; never throws. */
  spend(client: string): void {
    const bucket = this.refill(client);
    bucket.tokens = Math.max(0, bucket.tokens - 1);
  }

  private refill(client: string): { tokens: number; atMs: number } {
    const nowMs = this.now();
    let bucket = this.buckets.get(client);
    if (!bucket) {
      if (this.buckets.size >= 10_000) this.sweep(nowMs);
      bucket = { tokens: this.burst, atMs: nowMs };
      this.buckets.set(client, bucket);
    }
    bucket.tokens = Math.min(this.burst, bucket.tokens + ((nowMs - bucket.atMs) / 1000) * this.perSecond);
    bucket.atMs = nowMs;
    return bucket;
  }

  private sweep(nowMs: number): void {
    for (const [client, bucket] of this.buckets) if (bucket.tokens + ((nowMs - bucket.atMs) / 1000) * this.perSecond >= this.burst) this.buckets.delete(client);
  }
}

/** Values one filter may list (namespaces, labels, addresses, ports, ...), and the longest text one value or selector may be. */
export interface FilterLimits {
  readonly maxValues: number;
  readonly maxTextLength: number;
}

/** Throws QueryError (HTTP 400, gRPC INVALID_ARGUMENT) for a filter beyond the limits: its cost is the caller's to keep bounded. */
export function checkFilterLimits(spec: QuerySpec, limits: FilterLimits): void {
  const lists: Record<string, readonly (string | number)[] | undefined> = {
    namespace: spec.namespaces,
    proto: spec.protos,
    state: spec.states,
    port: spec.ports,
    address: spec.addresses,
    localPort: spec.localPorts,
    foreignPort: spec.foreignPorts,
    localAddress: spec.localAddresses,
    foreignAddress: spec.foreignAddresses,
    node: spec.nodes,
    container: spec.containers,
    workload: spec.workloads,
  };
  for (const [name, values] of Object.entries(lists)) {
    if (!values) continue;
    if (values.length > limits.maxValues) throw new QueryError(`too many ${name} values: ${values.length} (at most ${limits.maxValues} per query)`);
    for (const value of values) if (typeof value === 'string' && value.length > limits.maxTextLength) throw new QueryError(`a ${name} value is ${value.length} characters long (at most ${limits.maxTextLength})`);
  }
  const texts: Record<string, string | undefined> = { labelSelector: spec.labelSelector, pod: spec.pod, sortBy: spec.sortBy, continue: spec.continueToken };
  for (const [name, text] of Object.entries(texts)) if (text !== undefined && text.length > limits.maxTextLength) throw new QueryError(`${name} is ${text.length} characters long (at most ${limits.maxTextLength})`);
  const requirements = spec.labelSelector ? spec.labelSelector.split(',').length : 0;
  if (requirements > limits.maxValues) throw new QueryError(`too many label selector requirements: ${requirements} (at most ${limits.maxValues})`);
}
