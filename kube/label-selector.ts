/**
 * Kubernetes label selectors with the grammar of k8s.io/apimachinery (`labels/selector.go`):
 * `a=b`, `a==b`, `a!=b`, `a in (x,y)`, `a notin (x)`, `a`, `!a`, `a>1`, `a<1`, comma-joined.
 * Used by `-l/--selector` locally and by the test API server, so both agree with kubectl.
 */

export class SelectorError extends Error {
  override readonly name = 'SelectorError';
}

export type LabelOperator = 'exists' | '!' | '=' | '!=' | 'in' | 'notin' | 'gt' | 'lt';

export interface LabelRequirement {
  readonly key: string;
  readonly operator: LabelOperator;
  readonly values: readonly string[];
}

export type Labels = Readonly<Record<string, string>> | undefined;

// A DNS-1123 subdomain prefix, then a name of at most 63 characters (validation.IsQualifiedName).
const NAME_PART = /^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
const PREFIX_PART = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

function checkKey(key: string): void {
  const slash = key.lastIndexOf('/');
  const name = slash < 0 ? key : key.slice(slash + 1);
  const prefix = slash < 0 ? undefined : key.slice(0, slash);
  if (name.length === 0 || name.length > 63 || !NAME_PART.test(name)) throw new SelectorError(`invalid label key "${key}": name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character`);
  if (prefix !== undefined && (prefix.length === 0 || prefix.length > 253 || !PREFIX_PART.test(prefix))) throw new SelectorError(`invalid label key "${key}": prefix part must be a lowercase RFC 1123 subdomain`);
}

function checkValue(value: string): void {
  if (value !== '' && (value.length > 63 || !NAME_PART.test(value))) throw new SelectorError(`invalid label value: "${value}": a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character`);
}

type Token = { kind: 'id'; text: string } | { kind: 'op'; text: '!' | '=' | '==' | '!=' | '(' | ')' | ',' | '>' | '<' } | { kind: 'end' };

const SYMBOLS = ['!=', '==', '!', '=', '(', ')', ',', '>', '<'] as const;

function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let at = 0;
  while (at < text.length) {
    if (/\s/.test(text[at]!)) {
      at += 1;
      continue;
    }
    const symbol = SYMBOLS.find((candidate) => text.startsWith(candidate, at));
    if (symbol) {
      tokens.push({ kind: 'op', text: symbol });
      at += symbol.length;
      continue;
    }
    let end = at;
    while (end < text.length && !/\s/.test(text[end]!) && !'!=(),<>'.includes(text[end]!)) end += 1;
    tokens.push({ kind: 'id', text: text.slice(at, end) });
    at = end;
  }
  tokens.push({ kind: 'end' });
  return tokens;
}

function describe(token: Token): string {
  return token.kind === 'end' ? 'end of string' : `'${token.text}'`;
}

/** Parses a label selector ("" selects everything); throws SelectorError naming what it expected. */
export function parseLabelSelector(text: string): LabelRequirement[] {
  const tokens = tokenize(text);
  let at = 0;
  const next = (): Token => tokens[at++] ?? { kind: 'end' };
  const peek = (): Token => tokens[at] ?? { kind: 'end' };
  const requirements: LabelRequirement[] = [];
  if (peek().kind === 'end') return requirements;

  const identifier = (what: string): string => {
    const token = next();
    if (token.kind !== 'id') throw new SelectorError(`found ${describe(token)}, expected: ${what}`);
    return token.text;
  };
  const isOp = (token: Token, ...texts: string[]): boolean => token.kind === 'op' && texts.includes(token.text);

  for (;;) {
    if (isOp(peek(), '!')) {
      next();
      const key = identifier('identifier after \'!\'');
      checkKey(key);
      requirements.push({ key, operator: '!', values: [] });
    } else {
      const key = identifier('identifier');
      checkKey(key);
      const operator = peek();
      if (operator.kind === 'end' || isOp(operator, ',')) {
        requirements.push({ key, operator: 'exists', values: [] });
      } else if (isOp(operator, '=', '==', '!=')) {
        next();
        // An empty value is allowed: "a=" selects objects whose label a is "".
        const value = peek().kind === 'id' ? identifier('value') : '';
        checkValue(value);
        requirements.push({ key, operator: operator.kind === 'op' && operator.text === '!=' ? '!=' : '=', values: [value] });
      } else if (isOp(operator, '>', '<')) {
        next();
        const value = identifier('integer value');
        if (!/^-?\d+$/.test(value)) throw new SelectorError(`for 'gt', 'lt' operators, exactly one integer value is required, found "${value}"`);
        requirements.push({ key, operator: operator.kind === 'op' && operator.text === '>' ? 'gt' : 'lt', values: [value] });
      } else if (operator.kind === 'id' && (operator.text === 'in' || operator.text === 'notin')) {
        next();
        const open = next();
        if (!isOp(open, '(')) throw new SelectorError(`found ${describe(open)}, expected: '('`);
        const values: string[] = [];
        for (;;) {
          const value = peek().kind === 'id' ? identifier('value') : '';
          checkValue(value);
          values.push(value);
          const separator = next();
          if (isOp(separator, ')')) break;
          if (!isOp(separator, ',')) throw new SelectorError(`found ${describe(separator)}, expected: ',' or ')'`);
        }
        requirements.push({ key, operator: operator.text, values });
      } else {
        throw new SelectorError(`found ${describe(operator)}, expected: in, notin, =, ==, !=, gt, lt`);
      }
    }
    const separator = next();
    if (separator.kind === 'end') return requirements;
    if (!isOp(separator, ',')) throw new SelectorError(`found ${describe(separator)}, expected: ','`);
  }
}

export function labelsMatch(requirements: readonly LabelRequirement[], labels: Labels): boolean {
  return requirements.every(({ key, operator, values }) => {
    const value = labels?.[key];
    switch (operator) {
      case 'exists':
        return value !== undefined;
      case '!':
        return value === undefined;
      case '=':
      case 'in':
        return value !== undefined && values.includes(value);
      case '!=':
      case 'notin':
        return value === undefined || !values.includes(value);
      case 'gt':
      case 'lt': {
        if (value === undefined || !/^-?\d+$/.test(value)) return false;
        return operator === 'gt' ? Number(value) > Number(values[0]) : Number(value) < Number(values[0]);
      }
    }
  });
}
