/**
 * A strict parser for the Prometheus text exposition format (version 0.0.4), written for the tests so
 * the scrape is checked by something other than the library that wrote it. It throws, naming the line, on
 * anything a Prometheus server would reject or misread: bad names, bad escapes, unparsable values, a
 * TYPE after its samples, a family split in two, a repeated series, histogram series out of shape.
 */
export type MetricType = 'counter' | 'gauge' | 'histogram' | 'summary' | 'untyped';

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface Family {
  name: string;
  type: MetricType;
  help?: string;
  samples: Sample[];
}

const metricName = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const labelName = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const types = new Set<MetricType>(['counter', 'gauge', 'histogram', 'summary', 'untyped']);

function parseValue(text: string, where: string): number {
  if (text === 'NaN') return Number.NaN;
  if (text === '+Inf' || text === 'Inf') return Number.POSITIVE_INFINITY;
  if (text === '-Inf') return Number.NEGATIVE_INFINITY;
  if (!/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(text)) throw new Error(`${where}: bad value ${text}`);
  return Number(text);
}

/** Label set `{a="x",b="y"}` starting at text[0] === '{'; returns the labels and where parsing stopped. */
function parseLabels(text: string, where: string): { labels: Record<string, string>; end: number } {
  const labels: Record<string, string> = {};
  let i = 1;
  for (;;) {
    if (text[i] === '}') return { labels, end: i + 1 };
    const nameEnd = text.indexOf('=', i);
    if (nameEnd < 0) throw new Error(`${where}: label without a value`);
    const name = text.slice(i, nameEnd);
    if (!labelName.test(name)) throw new Error(`${where}: bad label name ${JSON.stringify(name)}`);
    if (name in labels) throw new Error(`${where}: label ${name} twice`);
    if (text[nameEnd + 1] !== '"') throw new Error(`${where}: label ${name} value not quoted`);
    let value = '';
    let j = nameEnd + 2;
    for (;;) {
      const c = text[j];
      if (c === undefined) throw new Error(`${where}: unterminated label value`);
      if (c === '"') break;
      if (c === '\\') {
        const escaped = text[j + 1];
        if (escaped === 'n') value += '\n';
        else if (escaped === '\\' || escaped === '"') value += escaped;
        else throw new Error(`${where}: bad escape \\${escaped}`);
        j += 2;
        continue;
      }
      value += c;
      j++;
    }
    labels[name] = value;
    i = j + 1;
    if (text[i] === ',') i++;
    else if (text[i] !== '}') throw new Error(`${where}: expected , or } after label ${name}`);
  }
}

/** The family a sample belongs to: histogram and summary samples carry suffixes on the family's name. */
function familyOf(sample: string, families: Map<string, Family>): Family | undefined {
  const exact = families.get(sample);
  if (exact) return exact;
  const suffix = /_(bucket|sum|count)$/.exec(sample);
  if (!suffix) return undefined;
  const family = families.get(sample.slice(0, -suffix[0].length));
  if (!family) return undefined;
  if (family.type === 'histogram' || (family.type === 'summary' && suffix[1] !== 'bucket')) return family;
  return undefined;
}

export function parsePrometheusText(text: string): Map<string, Family> {
  if (text.length > 0 && !text.endsWith('\n')) throw new Error('the exposition does not end with a newline');
  const families = new Map<string, Family>();
  const finished = new Set<string>();
  const series = new Set<string>();
  let current: Family | undefined;
  const declare = (name: string, where: string): Family => {
    if (!metricName.test(name)) throw new Error(`${where}: bad metric name ${JSON.stringify(name)}`);
    let family = families.get(name);
    if (!family) {
      family = { name, type: 'untyped', samples: [] };
      families.set(name, family);
    }
    return family;
  };
  text.split('\n').forEach((line, index) => {
    const where = `line ${index + 1}`;
    if (line === '') return;
    const comment = /^#\s*(HELP|TYPE)\s+(\S+)(?:\s(.*))?$/.exec(line);
    if (comment) {
      const [, kind, name = '', rest = ''] = comment;
      const family = declare(name, where);
      if (family.samples.length > 0 || finished.has(name))
        throw new Error(`${where}: ${kind} for ${name} after its samples`);
      if (kind === 'TYPE') {
        if (!types.has(rest as MetricType)) throw new Error(`${where}: unknown type ${rest}`);
        if (family.type !== 'untyped') throw new Error(`${where}: second TYPE for ${name}`);
        family.type = rest as MetricType;
      } else {
        if (family.help !== undefined) throw new Error(`${where}: second HELP for ${name}`);
        if (/\\[^n\\]/.test(rest.replace(/\\\\/g, ''))) throw new Error(`${where}: bad escape in HELP`);
        family.help = rest.replace(/\\(n|\\)/g, (_m, c: string) => (c === 'n' ? '\n' : '\\'));
      }
      return;
    }
    if (line.startsWith('#')) return;
    const nameMatch = /^[^\s{]+/.exec(line);
    if (!nameMatch) throw new Error(`${where}: no metric name`);
    const name = nameMatch[0];
    if (!metricName.test(name)) throw new Error(`${where}: bad metric name ${JSON.stringify(name)}`);
    let rest = line.slice(name.length);
    let labels: Record<string, string> = {};
    if (rest.startsWith('{')) {
      const parsed = parseLabels(rest, where);
      labels = parsed.labels;
      rest = rest.slice(parsed.end);
    }
    const fields = rest.trim().split(/\s+/);
    if (!/^\s/.test(rest) || fields.length < 1 || fields.length > 2)
      throw new Error(`${where}: expected a value (and an optional timestamp)`);
    const value = parseValue(fields[0] as string, where);
    if (fields[1] !== undefined && !/^-?\d+$/.test(fields[1])) throw new Error(`${where}: bad timestamp`);
    const family = familyOf(name, families) ?? declare(name, where);
    if (current && current !== family) finished.add(current.name);
    if (finished.has(family.name)) throw new Error(`${where}: samples of ${family.name} are not together`);
    current = family;
    if (family.type === 'histogram' && name.endsWith('_bucket') && labels.le === undefined)
      throw new Error(`${where}: histogram bucket without le`);
    const key = `${name}${JSON.stringify(Object.entries(labels).sort())}`;
    if (series.has(key)) throw new Error(`${where}: series ${key} repeated`);
    series.add(key);
    family.samples.push({ name, labels, value });
  });
  for (const family of families.values()) {
    if (family.type === 'histogram') checkHistogram(family);
  }
  return families;
}

/** Buckets cumulative, ending in +Inf equal to _count, per label set. */
function checkHistogram(family: Family): void {
  const groups = new Map<string, { buckets: [number, number][]; count?: number }>();
  for (const sample of family.samples) {
    const { le, ...rest } = sample.labels;
    const key = JSON.stringify(Object.entries(rest).sort());
    const group = groups.get(key) ?? { buckets: [] };
    groups.set(key, group);
    if (sample.name.endsWith('_bucket')) group.buckets.push([parseValue(le as string, family.name), sample.value]);
    if (sample.name.endsWith('_count')) group.count = sample.value;
  }
  for (const [key, group] of groups) {
    const last = group.buckets.at(-1);
    if (!last || last[0] !== Number.POSITIVE_INFINITY || last[1] !== group.count)
      throw new Error(`${family.name}${key}: the +Inf bucket is missing or differs from _count`);
    for (let i = 1; i < group.buckets.length; i++) {
      const [le, count] = group.buckets[i] as [number, number];
      const [previousLe, previousCount] = group.buckets[i - 1] as [number, number];
      if (le <= previousLe || count < previousCount) throw new Error(`${family.name}${key}: buckets not cumulative`);
    }
  }
}

/** The value of one series, or undefined when it is absent. */
export function sampleValue(
  families: Map<string, Family>,
  name: string,
  labels: Record<string, string> = {},
): number | undefined {
  for (const family of families.values()) {
    for (const sample of family.samples) {
      if (sample.name !== name) continue;
      const entries = Object.entries(labels);
      if (entries.length === Object.keys(sample.labels).length && entries.every(([k, v]) => sample.labels[k] === v))
        return sample.value;
    }
  }
  return undefined;
}
