import type { FindingsRequest } from '../../gen/kubenetstat/v1/query.js';
import { QueryError } from '../query/index.js';
import { RULES, SEVERITIES, type Finding, type RuleName, type Severity } from './types.js';

/** Which findings an answer lists (HTTP parameters and FindingsRequest say the same). */
export interface FindingsQuery {
  readonly namespaces: readonly string[];
  readonly pod?: string;
  readonly rules: readonly RuleName[];
  /** The lowest severity listed. */
  readonly minSeverity: Severity;
  readonly state: 'open' | 'resolved' | 'all';
  /** At most this many, the newest; 0 for all. */
  readonly limit: number;
}

const STATES = ['open', 'resolved', 'all'] as const;

function oneOf<T extends string>(what: string, value: string, allowed: readonly T[]): T {
  if ((allowed as readonly string[]).includes(value)) return value as T;
  throw new QueryError(`unknown ${what} '${value}': expected one of ${allowed.join(', ')}`);
}

/** A query from its parts as given; an unknown rule, severity or state is the caller's mistake (QueryError). */
export function findingsQuery(parts: { namespaces: readonly string[]; pod: string; rules: readonly string[]; minSeverity: string; state: string; limit: number }): FindingsQuery {
  if (!Number.isInteger(parts.limit) || parts.limit < 0) throw new QueryError(`invalid limit '${parts.limit}'`);
  return {
    namespaces: parts.namespaces,
    ...(parts.pod && { pod: parts.pod }),
    rules: parts.rules.map((rule) => oneOf('rule', rule, RULES)),
    minSeverity: oneOf('severity', parts.minSeverity || 'info', SEVERITIES),
    state: oneOf('state', parts.state || 'open', STATES),
    limit: parts.limit,
  };
}

/** `GET /api/v1/findings?namespace=&pod=&rule=&severity=&state=&limit=` (namespace and rule repeatable or comma-separated). */
export function findingsQueryOfParams(params: URLSearchParams): FindingsQuery {
  const list = (name: string): string[] => params.getAll(name).flatMap((value) => value.split(',')).map((value) => value.trim()).filter(Boolean);
  const limit = params.get('limit');
  return findingsQuery({ namespaces: list('namespace'), pod: params.get('pod') ?? '', rules: list('rule'), minSeverity: params.get('severity') ?? '', state: params.get('state') ?? '', limit: limit === null ? 0 : Number(limit) });
}

export function findingsQueryOfRequest(request: FindingsRequest): FindingsQuery {
  return findingsQuery({ namespaces: request.namespaces, pod: request.pod, rules: request.rules, minSeverity: request.minSeverity, state: request.state, limit: request.limit });
}

/** The findings a query selects from `all` (newest first, as FindingsEngine.all orders them). */
export function selectFindings(all: readonly Finding[], query: FindingsQuery): Finding[] {
  const namespaces = query.namespaces.length > 0 ? new Set(query.namespaces) : undefined;
  const rules = query.rules.length > 0 ? new Set<string>(query.rules) : undefined;
  const lowest = SEVERITIES.indexOf(query.minSeverity);
  const selected = all.filter(
    (finding) =>
      (query.state === 'all' || finding.state === query.state) &&
      (!namespaces || namespaces.has(finding.namespace)) &&
      (query.pod === undefined || finding.pod === query.pod) &&
      (!rules || rules.has(finding.rule)) &&
      SEVERITIES.indexOf(finding.severity) >= lowest,
  );
  return query.limit > 0 ? selected.slice(0, query.limit) : selected;
}
