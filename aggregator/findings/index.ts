/** Leak findings: the rules over the store, their lifecycle, evidence, and the query API's answers. */
export { findingsAnswer, findingsResponse, historyAnswer, historyResponse, NotFoundError, type Answer, type FindingsApi } from './api.js';
export { FindingsEngine, findingId, type EvaluationStats, type FindingsEngineOptions } from './engine.js';
export { findingsQueryOfRequest, type FindingsQuery } from './select.js';
export { RULES, SEVERITIES, type Finding, type FindingsSettings, type PortRangeOf, type RuleName, type Severity } from './types.js';
