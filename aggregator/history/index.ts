/** Per-pod socket counts by state over time, in bounded ring buffers. */
export { HistoryStore } from './history-store.js';
export { SERIES_NAMES, seriesOf, type HistorySettings, type PodHistoryView, type PodSample, type ResolutionView, type SeriesName } from './types.js';
