import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { runCli } from '../support/run-cli.js';

describe('agent and aggregator commands: help and usage errors', () => {
  const saved = { node: process.env.NODE_NAME, aggregator: process.env.KUBE_NETSTAT_AGGREGATOR };
  before(() => {
    delete process.env.NODE_NAME;
    delete process.env.KUBE_NETSTAT_AGGREGATOR;
  });
  after(() => {
    if (saved.node !== undefined) process.env.NODE_NAME = saved.node;
    if (saved.aggregator !== undefined) process.env.KUBE_NETSTAT_AGGREGATOR = saved.aggregator;
  });

  test('--help prints the usage even when required flags are missing', async () => {
    for (const command of ['agent', 'aggregator']) {
      const result = await runCli([command, '--help']);
      assert.equal(result.code, 0, command);
      assert.match(result.stdout, new RegExp(`^usage: kube-netstat ${command} `), command);
      assert.equal(result.stderr, '', command);
    }
  });

  test('an agent without its aggregator and node name is a usage error naming both', async () => {
    const result = await runCli(['agent']);
    assert.equal(result.code, 2);
    assert.match(result.stderr, /--aggregator: expected host:port; --node-name: a node name is required/);
  });

  test('an unknown flag is a usage error, with or without --help', async () => {
    const result = await runCli(['agent', '--help', '--bogus']);
    assert.equal(result.code, 2);
    assert.match(result.stderr, /Unknown option '--bogus'/);
  });
});
