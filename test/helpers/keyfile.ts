import assert from 'node:assert/strict';

/** GKeyFile as NetworkManager reads it: sections of key=value, `#` comments, `\\` and `\s` escapes. */
export function parseKeyfile(text: string): Record<string, Record<string, string>> {
  const sections: Record<string, Record<string, string>> = {};
  let current: Record<string, string> | undefined;
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const header = /^\[([^\]]+)\]$/.exec(line);
    if (header?.[1]) {
      assert.ok(!(header[1] in sections), `section [${header[1]}] twice`);
      current = sections[header[1]] = {};
      continue;
    }
    const eq = line.indexOf('=');
    assert.ok(current && eq > 0, `not a key=value line inside a section: ${line}`);
    const key = line.slice(0, eq);
    assert.ok(!(key in current), `key ${key} twice in a section`);
    current[key] = line.slice(eq + 1).replace(/\\(.)/g, (_m, c: string) => (c === 's' ? ' ' : c));
  }
  return sections;
}
