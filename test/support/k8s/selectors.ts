/**
 * Label and field selectors with the grammar of k8s.io/apimachinery (`labels/selector.go`,
 * `fields/selector.go`). Pure: parsing returns a predicate or throws `SelectorError`, which the
 * HTTP layer answers with 400 BadRequest as the real API server does.
 */
import type { FieldGetter, KubeObject } from './types.js';

// Label selectors are the production parser, so the test server and `-l` agree by construction.
export { labelsMatch, parseLabelSelector, SelectorError } from '../../../kube/label-selector.js';
export type { LabelOperator, LabelRequirement, Labels } from '../../../kube/label-selector.js';
import { SelectorError } from '../../../kube/label-selector.js';

export interface FieldRequirement {
  readonly field: string;
  readonly operator: '=' | '!=';
  readonly value: string;
}

const FIELD_OPERATORS = ['!=', '==', '='] as const;

/** Splits on unescaped commas; `\,`, `\=` and `\\` are the escapes fields.ParseSelector knows. */
function splitUnescaped(text: string): string[] {
  const parts: string[] = [];
  let current = '';
  for (let at = 0; at < text.length; at += 1) {
    const char = text[at]!;
    if (char === '\\' && at + 1 < text.length) {
      current += char + text[at + 1]!;
      at += 1;
    } else if (char === ',') {
      parts.push(current);
      current = '';
    } else {
      current += char;
    }
  }
  parts.push(current);
  return parts;
}

function unescapeFieldValue(text: string): string {
  let value = '';
  for (let at = 0; at < text.length; at += 1) {
    const char = text[at]!;
    if (char !== '\\') {
      if (char === ',' || char === '=') throw new SelectorError(`invalid field selector value "${text}": unescaped '${char}'`);
      value += char;
      continue;
    }
    const escaped = text[at + 1];
    if (escaped === undefined || !'\\,='.includes(escaped)) throw new SelectorError(`invalid field selector value "${text}": invalid escape sequence`);
    value += escaped;
    at += 1;
  }
  return value;
}

/** Parses a field selector ("" selects everything); throws SelectorError. */
export function parseFieldSelector(text: string): FieldRequirement[] {
  const requirements: FieldRequirement[] = [];
  for (const part of splitUnescaped(text)) {
    if (part === '') continue;
    let found: { at: number; operator: (typeof FIELD_OPERATORS)[number] } | undefined;
    for (let at = 0; at < part.length && !found; at += 1) {
      if (part[at] === '\\') {
        at += 1;
        continue;
      }
      const operator = FIELD_OPERATORS.find((candidate) => part.startsWith(candidate, at));
      if (operator) found = { at, operator };
    }
    if (!found) throw new SelectorError(`invalid selector: '${text}'; can't understand '${part}'`);
    const field = part.slice(0, found.at);
    requirements.push({ field, operator: found.operator === '!=' ? '!=' : '=', value: unescapeFieldValue(part.slice(found.at + found.operator.length)) });
  }
  return requirements;
}

/** Checks every field against what the resource supports, then returns the predicate. */
export function fieldMatcher(requirements: readonly FieldRequirement[], supported: Readonly<Record<string, FieldGetter>>): (object: KubeObject) => boolean {
  const bound = requirements.map((requirement) => {
    const getter = supported[requirement.field];
    if (!getter) throw new SelectorError(`field label not supported: ${requirement.field}`);
    return { getter, requirement };
  });
  return (object) => bound.every(({ getter, requirement }) => (getter(object) === requirement.value) === (requirement.operator === '='));
}
