import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseLocalFlags } from '../../../cli/local/flags.js';
import { UsageError } from '../../../config/usage-error.js';

const protos = (...argv: string[]): string[] => [...parseLocalFlags(argv).protos].sort();

describe('netstat grammar', () => {
  const protoCases: Array<{ name: string; argv: string[]; expected: string[] }> = [
    { name: 'no flags: every table, as netstat', argv: [], expected: ['raw', 'raw6', 'tcp', 'tcp6', 'udp', 'udp6', 'unix'] },
    { name: '-t: tcp of both families', argv: ['-t'], expected: ['tcp', 'tcp6'] },
    { name: '-tu4: IPv4 tcp and udp', argv: ['-tu4'], expected: ['tcp', 'udp'] },
    { name: '-6 alone: every IPv6 inet table, no unix', argv: ['-6'], expected: ['raw6', 'tcp6', 'udp6'] },
    { name: '-x: unix only', argv: ['-x'], expected: ['unix'] },
    { name: '-x -4: unix plus every IPv4 table', argv: ['-x', '-4'], expected: ['raw', 'tcp', 'udp', 'unix'] },
    { name: 'long forms', argv: ['--tcp', '--raw'], expected: ['raw', 'raw6', 'tcp', 'tcp6'] },
  ];
  for (const { name, argv, expected } of protoCases) test(name, () => assert.deepEqual(protos(...argv), expected));

  test('grouped -tanpoe sets every netstat option', () => {
    const flags = parseLocalFlags(['-tanpoe']);
    assert.deepEqual(flags.netstat, {
      all: true, listening: false, numericHosts: true, numericPorts: true, numericUsers: true,
      extend: 2, programs: true, timers: true, wide: false,
    });
    assert.equal(flags.output, 'netstat');
  });

  test('-ee counts, as netstat\'s flag_exp', () => assert.equal(parseLocalFlags(['-ee']).netstat.extend, 3));

  const outputCases: Array<{ name: string; argv: string[]; output: string; timers: boolean }> = [
    { name: '-o json selects an output format', argv: ['-t', '-o', 'json'], output: 'json', timers: false },
    { name: '-ojson', argv: ['-ojson'], output: 'json', timers: false },
    { name: '-o=yaml', argv: ['-o=yaml'], output: 'yaml', timers: false },
    { name: '-tanpo wide: trailing o with a format after it', argv: ['-tanpo', 'wide'], output: 'wide', timers: false },
    { name: '--output json', argv: ['--output', 'json'], output: 'json', timers: false },
    { name: '-o followed by another flag stays timers', argv: ['-o', '-t'], output: 'netstat', timers: true },
    { name: '--timers', argv: ['--timers'], output: 'netstat', timers: true },
  ];
  for (const { name, argv, output, timers } of outputCases) {
    test(name, () => {
      const flags = parseLocalFlags(argv);
      assert.deepEqual([flags.output, flags.netstat.timers], [output, timers]);
    });
  }

  const continuous: Array<{ name: string; argv: string[]; seconds: number | undefined }> = [
    { name: 'no -c', argv: ['-t'], seconds: undefined },
    { name: '-c alone: every second', argv: ['-tc'], seconds: 1 },
    { name: '-c 5', argv: ['-c', '5'], seconds: 5 },
    { name: '-c2.5 attached', argv: ['-c2.5'], seconds: 2.5 },
    { name: '--continuous=3', argv: ['--continuous=3'], seconds: 3 },
  ];
  for (const { name, argv, seconds } of continuous) test(name, () => assert.equal(parseLocalFlags(argv).continuousSeconds, seconds));

  test('filters accept repeated and comma-separated values', () => {
    const flags = parseLocalFlags(['--state', 'close-wait,time-wait', '--state=listening', '--port', '80,443', '--address', '10.0.0.0/8']);
    assert.deepEqual([flags.states, flags.ports, flags.addresses], [['close-wait', 'time-wait', 'listening'], [80, 443], ['10.0.0.0/8']]);
  });

  const bad: Array<{ name: string; argv: string[]; message: RegExp }> = [
    { name: 'unknown letter', argv: ['-tq'], message: /invalid option -- 'q'/ },
    { name: 'unknown long option', argv: ['--bogus'], message: /unrecognized option '--bogus'/ },
    { name: 'value for a switch', argv: ['--tcp=1'], message: /doesn't allow an argument/ },
    { name: 'missing value', argv: ['--netns'], message: /requires a value/ },
    { name: 'bad port', argv: ['--port', '70000'], message: /invalid port/ },
    { name: 'bad output format', argv: ['--output', 'xml'], message: /invalid output format/ },
    { name: 'stray argument', argv: ['tcp'], message: /unexpected argument 'tcp'/ },
    { name: 'zero interval', argv: ['-c', '0'], message: /invalid interval/ },
  ];
  for (const { name, argv, message } of bad) {
    test(`usage error: ${name}`, () => assert.throws(() => parseLocalFlags(argv), (error) => error instanceof UsageError && message.test(error.message)));
  }
});
