/**
 * What declaring a setting says, once: where it is set (a flag, an environment variable, a
 * `--rule` name, or nowhere: a fixed value still checked), its default, its type and range,
 * and a line of help. The command line's options, the environment lookup, the defaults, the
 * validation and the --help text are all derived from these (read-settings.ts, usage.ts).
 * Plain data: a program that needs only a default imports no parser or validator.
 */

interface Declared {
  /** The long flag, without its dashes; absent: not on the command line. */
  readonly flag?: string;
  /** The environment variable read when the flag is not given. */
  readonly env?: string;
  /** A leak-rule threshold's name for `--rule NAME=VALUE`. */
  readonly rule?: string;
  readonly help: string;
}

interface Ranged extends Declared {
  readonly default: number;
  readonly min: number;
  readonly max: number;
}

/** Seconds, written as a duration (config/duration.ts). */
export interface DurationSetting extends Ranged {
  readonly kind: 'duration';
}

/** A whole number; `unit` names what is counted in the help (`pods`, `bytes`). */
export interface CountSetting extends Ranged {
  readonly kind: 'count';
  readonly unit?: string;
}

/** Any number in range: a rate, a share, a size. */
export interface NumberSetting extends Ranged {
  readonly kind: 'number';
  readonly unit?: string;
}

export interface TextSetting extends Declared {
  readonly kind: 'text';
  /** undefined: none unless given (a file, a kubeconfig context). */
  readonly default: string | undefined;
  /** What the help shows in place of the value: FILE, HOST:PORT. */
  readonly placeholder: string;
  /** A value it must match, and what to say when it does not. */
  readonly pattern?: { readonly regex: RegExp; readonly expected: string };
  /** What is missing when it is empty (`a node name`): empty is refused. */
  readonly nonEmpty?: string;
  readonly maxLength?: number;
}

export interface ChoiceSetting extends Declared {
  readonly kind: 'choice';
  readonly choices: readonly string[];
  readonly default: string;
}

export type Setting = DurationSetting | CountSetting | NumberSetting | TextSetting | ChoiceSetting;

/** Settings by name, grouped as the programs take them (`findings.closeWait.maxAgeSeconds`). */
export interface SettingsTree {
  readonly [name: string]: Setting | SettingsTree;
}

/** A setting's value type: a choice's choices, text (undefined when optional), else a number. */
export type ValueOf<S extends Setting> = S extends { readonly kind: 'choice'; readonly choices: readonly (infer C)[] }
  ? C
  : S extends { readonly kind: 'text'; readonly default: infer D }
    ? (undefined extends D ? string | undefined : string)
    : number;

/** The values a tree declares, in its shape. */
export type Values<T extends SettingsTree> = { readonly [K in keyof T]: T[K] extends Setting ? ValueOf<T[K]> : T[K] extends SettingsTree ? Values<T[K]> : never };

/** A check across settings (a pair given together, one bound below another), with what to say when it fails. */
export interface Check<V> {
  holds(settings: V): boolean;
  readonly message: string;
}

/** A command's settings: what --help and reading its command line and environment derive from. */
export interface Program<T extends SettingsTree> {
  /** `kube-netstat <command>`. */
  readonly command: string;
  /** What the command does, for --help, before its flags. */
  readonly description: string;
  readonly settings: T;
  /** The flag, repeatable, and the environment variable (comma-separated) that set `rule` settings as NAME=VALUE. */
  readonly rules?: { readonly flag: string; readonly env: string; readonly help: string };
  readonly checks?: readonly Check<Values<T>>[];
}

export const duration = <const D extends Omit<DurationSetting, 'kind'>>(declared: D): D & { readonly kind: 'duration' } => ({ kind: 'duration', ...declared });
export const count = <const D extends Omit<CountSetting, 'kind'>>(declared: D): D & { readonly kind: 'count' } => ({ kind: 'count', ...declared });
export const number = <const D extends Omit<NumberSetting, 'kind'>>(declared: D): D & { readonly kind: 'number' } => ({ kind: 'number', ...declared });
export const text = <const D extends Omit<TextSetting, 'kind' | 'default'> & { readonly default: string }>(declared: D): D & { readonly kind: 'text' } => ({ kind: 'text', ...declared });
/** Text with no default: undefined unless given. */
export const optionalText = <const D extends Omit<TextSetting, 'kind' | 'default'>>(declared: D): D & { readonly kind: 'text'; readonly default: undefined } => ({ kind: 'text', default: undefined, ...declared });
export const choice = <const C extends string, const D extends Omit<ChoiceSetting, 'kind' | 'choices' | 'default'>>(
  declared: D & { readonly choices: readonly C[]; readonly default: NoInfer<C> },
): D & { readonly kind: 'choice'; readonly choices: readonly C[]; readonly default: C } => ({ kind: 'choice', ...declared });

const isSetting = (node: Setting | SettingsTree): node is Setting => typeof node.kind === 'string';

/** Every setting of a tree with its path, in declaration order. */
export function leaves(tree: SettingsTree, path: readonly string[] = []): { readonly path: readonly string[]; readonly setting: Setting }[] {
  return Object.entries(tree).flatMap(([name, node]) => (isSetting(node) ? [{ path: [...path, name], setting: node }] : leaves(node, [...path, name])));
}

/** The values a tree has when nothing is given. */
export function defaultsOf<T extends SettingsTree>(tree: T): Values<T> {
  return Object.fromEntries(Object.entries(tree).map(([name, node]) => [name, isSetting(node) ? node.default : defaultsOf(node)])) as Values<T>;
}
