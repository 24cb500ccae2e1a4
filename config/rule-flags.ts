import { leaves, type SettingsTree } from './setting.js';
import { UsageError } from './usage-error.js';

/**
 * `--rule NAME=VALUE` (repeatable) and its environment variable (`NAME=VALUE,...`): the leak
 * rules' thresholds by the `rule` name they are declared with (`close-wait.max-age=10m`,
 * `port-pressure.warn-share=0.6`). An unknown name or a malformed assignment is a usage error
 * here; the value is read and checked as its setting's kind and range (read-settings.ts).
 */

/** Every name `--rule` takes, in declaration order. */
export function ruleNames(tree: SettingsTree): string[] {
  return leaves(tree).flatMap(({ setting }) => (setting.rule === undefined ? [] : [setting.rule]));
}

/** The text each threshold named is given, by name: later assignments win. */
export function ruleTexts(tree: SettingsTree, flag: string, assignments: readonly string[]): Map<string, string> {
  const names = ruleNames(tree);
  const texts = new Map<string, string>();
  for (const assignment of assignments) {
    const at = assignment.indexOf('=');
    const name = assignment.slice(0, at).trim();
    if (at < 0 || !name) throw new UsageError(`--${flag} ${assignment}: expected NAME=VALUE`);
    if (!names.includes(name)) throw new UsageError(`--${flag} ${name}: no such threshold; one of ${names.join(', ')}`);
    texts.set(name, assignment.slice(at + 1).trim());
  }
  return texts;
}
