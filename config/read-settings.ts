import { parseArgs, type ParseArgsConfig } from 'node:util';
import { z } from 'zod';
import { parseDuration } from './duration.js';
import { ruleTexts } from './rule-flags.js';
import { leaves, type Program, type Setting, type SettingsTree, type Values } from './setting.js';
import { UsageError } from './usage-error.js';

/**
 * A program's settings from its command line and the environment, as declared (setting.ts):
 * each setting's flag, else its environment variable, else its default; read as its kind,
 * then checked against its range, each failure naming the flag. Unknown flags are parseArgs'
 * errors (ERR_PARSE_ARGS_*), which the entry point reports as usage errors.
 */

type Options = NonNullable<ParseArgsConfig['options']>;

function optionsOf<T extends SettingsTree>(program: Program<T>): Options {
  const options: Options = { help: { type: 'boolean', short: 'h' } };
  for (const { setting } of leaves(program.settings)) if (setting.flag !== undefined) options[setting.flag] = { type: 'string' };
  if (program.rules) options[program.rules.flag] = { type: 'string', multiple: true };
  return options;
}

type Given = ReturnType<typeof parseArgs>['values'];

function parseCommandLine<T extends SettingsTree>(program: Program<T>, argv: readonly string[]): Given {
  return parseArgs({ args: [...argv], options: optionsOf(program), strict: true }).values;
}

/** --help is answered before the other flags are checked: a required one may not be given yet. */
export function asksForHelp<T extends SettingsTree>(program: Program<T>, argv: readonly string[]): boolean {
  return parseCommandLine(program, argv).help === true;
}

const NUMBER = /^-?\d+(?:\.\d+)?$/;

function parseNumber(text: string, name: string): number {
  if (!NUMBER.test(text)) throw new UsageError(`invalid ${name} '${text}': expected a number`);
  return Number(text);
}

/** A setting's value from its text, by kind. */
function parse(setting: Setting, text: string, name: string): number | string {
  switch (setting.kind) {
    case 'duration':
      return parseDuration(text, name);
    case 'count':
    case 'number':
      return parseNumber(text, name);
    case 'text':
    case 'choice':
      return text;
  }
}

/** What a setting's value must be. */
function schemaOf(setting: Setting): z.ZodType {
  switch (setting.kind) {
    case 'duration':
    case 'number':
      return z.number().min(setting.min).max(setting.max);
    case 'count':
      return z.number().int().min(setting.min).max(setting.max);
    case 'choice':
      return z.enum(setting.choices as [string, ...string[]]);
    case 'text': {
      let schema = z.string();
      if (setting.nonEmpty !== undefined) schema = schema.min(1, `${setting.nonEmpty} is required (${[setting.flag && `--${setting.flag}`, setting.env && `$${setting.env}`].filter(Boolean).join(' or ')})`);
      if (setting.pattern) schema = schema.regex(setting.pattern.regex, setting.pattern.expected);
      if (setting.maxLength !== undefined) schema = schema.max(setting.maxLength);
      return setting.default === undefined ? schema.optional() : schema;
    }
  }
}

function setAt(tree: Record<string, unknown>, path: readonly string[], value: unknown): void {
  let node = tree;
  for (const step of path.slice(0, -1)) node = (node[step] ??= {}) as Record<string, unknown>;
  node[path.at(-1)!] = value;
}

/** A setting's text, from its flag, else its environment variable, else a --rule; and the name a usage error about it gives. */
function sourceOf(setting: Setting, path: readonly string[], given: Given, env: NodeJS.ProcessEnv, rules: Program<SettingsTree>['rules'], ruleText: ReadonlyMap<string, string>): { text: string | undefined; name: string } {
  const name = setting.flag !== undefined ? `--${setting.flag}` : setting.rule !== undefined && rules ? `--${rules.flag} ${setting.rule}` : path.join('.');
  const flag = setting.flag === undefined ? undefined : given[setting.flag];
  if (typeof flag === 'string') return { text: flag, name };
  const fromEnv = setting.env === undefined ? undefined : env[setting.env];
  if (fromEnv !== undefined) return { text: fromEnv, name: setting.flag === undefined ? `$${setting.env}` : `${name} ($${setting.env})` };
  return { text: setting.rule === undefined ? undefined : ruleText.get(setting.rule), name };
}

export function readSettings<T extends SettingsTree>(program: Program<T>, argv: readonly string[], env: NodeJS.ProcessEnv = process.env): Values<T> {
  const given = parseCommandLine(program, argv);
  const { rules } = program;
  const ruleText = rules ? ruleTexts(program.settings, rules.flag, [...(env[rules.env] ?? '').split(',').filter((rule) => rule.trim()), ...((given[rules.flag] ?? []) as string[])]) : new Map<string, string>();
  const settings: Record<string, unknown> = {};
  const issues: string[] = [];
  for (const { path, setting } of leaves(program.settings)) {
    const { text, name } = sourceOf(setting, path, given, env, rules, ruleText);
    const value = text === undefined ? setting.default : parse(setting, text, name);
    const result = schemaOf(setting).safeParse(value);
    if (!result.success) issues.push(...result.error.issues.map((issue) => `${name}: ${issue.message}`));
    setAt(settings, path, value);
  }
  if (issues.length === 0) for (const check of program.checks ?? []) if (!check.holds(settings as Values<T>)) issues.push(check.message);
  if (issues.length > 0) throw new UsageError(issues.join('; '));
  return settings as Values<T>;
}
