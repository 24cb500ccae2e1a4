/** What the aggregator answers: listings, summaries and watches over the stored sockets, selected by a query. */
export { MAX_LIMIT, QueryError, type QuerySpec } from './spec.js';
export { compileSelection, orderedNodes } from './selection.js';
export { decodeStored } from './decode.js';
export { forEachListed, listSockets } from './listing.js';
export { listSocketsEncoded } from './encoded-list.js';
export { rankingOf, summarize, topPods, type Grouping, type SummaryRow } from './summary.js';
export { PROXIED, Watcher, WatchHub, WatchLimitError, type Watch, type WatchSink } from './watch.js';
export { checkKnownParams, FILTER_PARAMS, isWatch, limitParam, limitWarning, LIST_PARAMS, querySpec } from './params.js';
