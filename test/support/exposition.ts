/** One sample of Prometheus' text exposition format. */
export interface Sample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

export interface Exposition {
  readonly samples: Sample[];
  /** Metric family → its # TYPE. */
  readonly types: ReadonlyMap<string, string>;
  readonly help: ReadonlyMap<string, string>;
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*/;

/**
 * Parses the text format (version 0.0.4) strictly: every line must be a HELP, a TYPE, a
 * comment, blank, or a sample `name{label="value",...} value [timestamp]`, label values with
 * the format's three escapes (\\, \", \n). Anything else throws, naming the line.
 */
export function parseExposition(text: string): Exposition {
  const samples: Sample[] = [];
  const types = new Map<string, string>();
  const help = new Map<string, string>();
  text.split('\n').forEach((line, index) => {
    const fail = (why: string): never => {
      throw new Error(`exposition line ${index + 1}: ${why}: ${JSON.stringify(line)}`);
    };
    if (line.trim() === '') return;
    if (line.startsWith('#')) {
      const match = /^# (HELP|TYPE) ([a-zA-Z_:][a-zA-Z0-9_:]*) (.*)$/.exec(line);
      if (!match) return;
      if (match[1] === 'TYPE') {
        if (!['counter', 'gauge', 'histogram', 'summary', 'untyped'].includes(match[3]!)) fail('unknown type');
        types.set(match[2]!, match[3]!);
      } else help.set(match[2]!, match[3]!);
      return;
    }
    const name = NAME.exec(line)?.[0] ?? fail('no metric name');
    let at = name.length;
    const labels: Record<string, string> = {};
    if (line[at] === '{') {
      at++;
      while (line[at] !== '}') {
        const label = LABEL_NAME.exec(line.slice(at))?.[0] ?? fail('bad label name');
        at += label.length;
        if (line.slice(at, at + 2) !== '="') fail(`no value for label ${label}`);
        at += 2;
        let value = '';
        for (;;) {
          const char = line[at++] ?? fail('unterminated label value');
          if (char === '"') break;
          if (char !== '\\') {
            value += char;
            continue;
          }
          const escaped = line[at++];
          if (escaped === 'n') value += '\n';
          else if (escaped === '\\' || escaped === '"') value += escaped;
          else fail('bad escape');
        }
        if (label in labels) fail(`label ${label} twice`);
        labels[label] = value;
        if (line[at] === ',') at++;
        else if (line[at] !== '}') fail('expected , or }');
      }
      at++;
    }
    const [valueText, timestamp, ...rest] = line.slice(at).trim().split(' ');
    if (line[at] !== ' ' || valueText === undefined || rest.length > 0 || (timestamp !== undefined && !/^-?\d+$/.test(timestamp))) fail('bad value part');
    // Go's ParseFloat, as Prometheus reads values: NaN and Inf in any case (prom-client prints `Nan`).
    const special = /^([+-]?)(inf|infinity|nan)$/i.exec(valueText ?? '');
    const value = special ? (special[2]!.toLowerCase() === 'nan' ? NaN : special[1] === '-' ? -Infinity : Infinity) : Number(valueText);
    if (Number.isNaN(value) && !special) fail('value is not a number');
    samples.push({ name, labels, value });
  });
  return { samples, types, help };
}

/** The samples of one metric whose labels include `labels`. */
export function samplesOf(exposition: Exposition, name: string, labels: Readonly<Record<string, string>> = {}): Sample[] {
  return exposition.samples.filter((sample) => sample.name === name && Object.entries(labels).every(([key, value]) => sample.labels[key] === value));
}
