import assert from 'node:assert/strict';
import { test } from 'node:test';
import { tuneAggregatorHeap } from '../../../aggregator/server/index.js';

/** The aggregator's V8 heap growth factor (aggregator/server/heap.ts): set at start-up unless node was given one. */

test('an operator\'s --heap-growing-percent on node\'s command line is left alone, in either spelling', () => {
  for (const execArgv of [['--heap-growing-percent=50'], ['--heap-growing-percent', '50'], ['--max-old-space-size=2048', '--heap_growing_percent=0']]) {
    assert.equal(tuneAggregatorHeap(execArgv), false, execArgv.join(' '));
  }
});

test('otherwise it is set, whatever other flags node has', () => {
  assert.equal(tuneAggregatorHeap(['--max-old-space-size=2048', '--expose-gc']), true);
  assert.equal(tuneAggregatorHeap([]), true);
});
