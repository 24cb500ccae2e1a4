import { DURATION_SYNTAX, formatDuration } from './duration.js';
import { leaves, type Program, type Setting, type SettingsTree } from './setting.js';

/** A program's --help: its synopsis, what it does, then every flag and threshold it declares. */

const WIDTH = 100;
const INDENT = '      ';

/** A setting that has no usable default: its default is empty and that fails its own check. */
function mustBeGiven(setting: Setting): boolean {
  return setting.kind === 'text' && setting.default === '' && (setting.nonEmpty !== undefined || (setting.pattern !== undefined && !setting.pattern.regex.test('')));
}

function placeholder(setting: Setting): string {
  switch (setting.kind) {
    case 'duration':
      return 'DURATION';
    case 'count':
    case 'number':
      return 'N';
    case 'choice':
      return setting.choices.join('|');
    case 'text':
      return setting.placeholder;
  }
}

/** The default and the range, as the flag takes them; undefined for text with no default (its help says what absence means). */
function bounds(setting: Setting): string | undefined {
  switch (setting.kind) {
    case 'duration':
      return `default ${formatDuration(setting.default)}; ${formatDuration(setting.min)} to ${formatDuration(setting.max)}`;
    case 'count':
    case 'number':
      return `default ${setting.default}; ${setting.min} to ${setting.max}${setting.unit ? ` ${setting.unit}` : ''}`;
    case 'choice':
      return `default ${setting.default}`;
    case 'text':
      if (setting.default === undefined) return undefined;
      return mustBeGiven(setting) ? 'required' : setting.default ? `default ${setting.default}` : 'default none';
  }
}

function wrap(text: string): string {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(' ')) {
    if (line && INDENT.length + line.length + 1 + word.length > WIDTH) {
      lines.push(line);
      line = word;
    } else {
      line = line ? `${line} ${word}` : word;
    }
  }
  return lines.concat(line).map((each) => `${INDENT}${each}\n`).join('');
}

function entry(name: string, setting: Setting): string {
  const range = bounds(setting);
  return `  ${name}${setting.env ? `  $${setting.env}` : ''}${range ? `  (${range})` : ''}\n${wrap(setting.help)}`;
}

export function usage<T extends SettingsTree>(program: Program<T>): string {
  const settings = leaves(program.settings).map(({ setting }) => setting);
  const flags = settings.filter((setting) => setting.flag !== undefined);
  const required = flags.filter(mustBeGiven).map((setting) => `--${setting.flag} ${placeholder(setting)}`);
  const rules = program.rules;
  const thresholds = rules ? settings.filter((setting) => setting.rule !== undefined) : [];
  return (
    `usage: kube-netstat ${program.command} ${[...required, '[flags]'].join(' ')}\n\n` +
    `${program.description}\n\n` +
    `Flags (each may come from the environment variable after it instead; the flag wins):\n` +
    flags.map((setting) => entry(`--${setting.flag} ${placeholder(setting)}`, setting)).join('') +
    (rules ? `  --${rules.flag} NAME=VALUE, repeatable  $${rules.env} (NAME=VALUE,...)\n${wrap(rules.help)}` : '') +
    `  -h, --help\n${wrap('This help.')}` +
    (rules ? `\nThresholds (--${rules.flag} NAME=VALUE):\n${thresholds.map((setting) => entry(`${setting.rule}=${placeholder(setting)}`, setting)).join('')}` : '') +
    (settings.some((setting) => setting.kind === 'duration' && (setting.flag !== undefined || setting.rule !== undefined)) ? `\nDURATION: ${DURATION_SYNTAX}.\n` : '')
  );
}
