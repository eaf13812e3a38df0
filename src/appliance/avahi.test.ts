import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseConfig } from '../config/schema.js';
import { renderAvahiService } from './avahi.js';

/** Enough of an XML reader to check the document is well nested and to pick out element text. */
function elements(xml: string): Map<string, string[]> {
  const found = new Map<string, string[]>();
  const open: string[] = [];
  const body = xml.replace(/<\?xml[^>]*\?>|<!DOCTYPE[^>]*>|<!--[\s\S]*?-->/g, '');
  for (const match of body.matchAll(/<(\/?)([a-z-]+)([^>]*)>([^<]*)/g)) {
    const [, closing, name = '', , text = ''] = match;
    if (closing) assert.equal(open.pop(), name, `</${name}> closes the wrong element`);
    else {
      open.push(name);
      found.set(name, [...(found.get(name) ?? []), text.trim()]);
    }
  }
  assert.deepEqual(open, [], 'unclosed elements');
  return found;
}

test('the avahi service file announces the setup page over HTTPS on the configured port', () => {
  const xml = renderAvahiService(parseConfig({ ports: { https: 8443 } }));
  assert.match(xml, /^<\?xml version="1.0" standalone="no"\?>\n<!DOCTYPE service-group SYSTEM "avahi-service.dtd">/);
  const found = elements(xml);
  assert.deepEqual(found.get('type'), ['_https._tcp']);
  assert.deepEqual(found.get('port'), ['8443']);
  assert.equal(found.get('service-group')?.length, 1);
});

test('an ephemeral HTTPS port cannot be announced', () => {
  assert.throws(() => renderAvahiService(parseConfig({ ports: { https: 0 } })), /ports\.https/);
});
