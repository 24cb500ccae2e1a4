import { DEFAULTS } from './defaults.js';
import { UsageError } from './usage-error.js';

/**
 * `--rule NAME=VALUE` (repeatable) and $KUBE_NETSTAT_RULES (`NAME=VALUE,...`): the leak rules'
 * thresholds, named by their path in DEFAULTS.aggregator.findings in kebab-case, a time without
 * its `Seconds` and with an optional unit (`close-wait.max-age=10m`, `stuck-queue.after=90s`,
 * `port-pressure.warn-share=0.6`). Range checks are the schema's (defaults.ts); an unknown
 * name or a value that is not a number is a usage error here.
 */

type Tree = { [key: string]: number | string | Tree };

const kebab = (name: string): string => name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
const camel = (name: string): string => name.replace(/-([a-z0-9])/g, (_, c: string) => c.toUpperCase());

/** Flags of their own, not --rule. */
const OWN_FLAGS = new Set(['evaluateEverySeconds', 'events']);

/** Every name --rule takes, with its default as a flag would write it. */
export function ruleNames(tree: Tree = DEFAULTS.aggregator.findings as unknown as Tree, prefix = ''): string[] {
  return Object.entries(tree).flatMap(([key, value]) => {
    if (prefix === '' && OWN_FLAGS.has(key)) return [];
    const name = `${prefix}${kebab(key).replace(/-seconds$/, '')}`;
    return typeof value === 'object' ? ruleNames(value, `${name}.`) : [`${name}=${value}${key.endsWith('Seconds') ? 's' : ''}`];
  });
}

const UNITS: Readonly<Record<string, number>> = { ms: 0.001, s: 1, m: 60, h: 3600, d: 86_400 };

function parseValue(name: string, text: string, isTime: boolean): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)?$/.exec(text.trim());
  if (!match || (match[2] && !isTime)) throw new UsageError(`--rule ${name}=${text}: expected ${isTime ? 'a time (90s, 10m, 1h)' : 'a number'}`);
  return Number(match[1]) * (match[2] ? UNITS[match[2]]! : 1);
}

/** The findings settings: DEFAULTS' with each NAME=VALUE applied in order (later ones win). */
export function applyRules(assignments: readonly string[]): Tree {
  const settings = structuredClone(DEFAULTS.aggregator.findings) as unknown as Tree;
  for (const assignment of assignments) {
    const at = assignment.indexOf('=');
    const name = assignment.slice(0, at).trim();
    if (at < 0 || !name) throw new UsageError(`--rule ${assignment}: expected NAME=VALUE`);
    const path = name.split('.').map(camel);
    let node: Tree = settings;
    for (const step of path.slice(0, -1)) {
      const next = Object.hasOwn(node, step) ? node[step] : undefined;
      if (typeof next !== 'object') throw unknownRule(name);
      node = next;
    }
    const last = path.at(-1)!;
    const key = [`${last}Seconds`, last].find((candidate) => Object.hasOwn(node, candidate) && typeof node[candidate] === 'number' && !(path.length === 1 && OWN_FLAGS.has(candidate)));
    if (key === undefined) throw unknownRule(name);
    node[key] = parseValue(name, assignment.slice(at + 1), key.endsWith('Seconds'));
  }
  return settings;
}

function unknownRule(name: string): UsageError {
  return new UsageError(`--rule ${name}: no such threshold; one of ${ruleNames().map((entry) => entry.split('=')[0]).join(', ')}`);
}
