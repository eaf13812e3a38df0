import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { curlArgs, moatFtpTarget, writeRandomFile } from '../helpers/ftp-clients.js';
import { type Harness, startHarness } from '../helpers/harness.js';
import { MosquittoProcess, moatEndpoint, mosquittoArgs, waitForPrinterReady } from '../helpers/mqtt-clients.js';
import { run } from '../helpers/process.js';
import { type Family, parsePrometheusText, sampleValue } from '../helpers/prometheus-text.js';
import { waitFor } from '../helpers/wait.js';
import { apiRequest, claimAsOwner, curl, launchBrowser, unexpectedErrors } from './web-harness.js';

/**
 * /metrics over real HTTPS (curl) against a Moat with a simulated printer: off until the owner turns it
 * on, a bearer token shown once, the exposition parsed strictly, and counters that move when a mosquitto
 * client connects, a viewer's pause is refused and curl uploads a file over FTPS.
 */

let h: Harness;
let endpoint: { caFile: string; baseUrl: string };
let admin: { cookie: string; csrf: string };
const children: MosquittoProcess[] = [];

function api(method: string, path: string, session = admin, body?: unknown) {
  return apiRequest(endpoint, session, method, path, body);
}

function scrapeWith(token?: string) {
  return curl(endpoint, '/metrics', token === undefined ? [] : ['-H', `Authorization: Bearer ${token}`]);
}

async function scrape(token: string): Promise<Map<string, Family>> {
  const response = await scrapeWith(token);
  assert.equal(response.status, 200, response.body);
  assert.match(response.headers['content-type']?.[0] ?? '', /^text\/plain; version=0\.0\.4/);
  return parsePrometheusText(response.body);
}

/** Scrapes until the series reaches the value (events reach the counters asynchronously). */
function waitForSample(token: string, name: string, labels: Record<string, string>, atLeast: number) {
  return waitFor(async () => ((sampleValue(await scrape(token), name, labels) ?? -1) >= atLeast ? true : undefined), {
    what: `${name}${JSON.stringify(labels)} to reach ${atLeast}`,
    timeoutMs: 15_000,
    intervalMs: 100,
  });
}

before(async () => {
  h = await startHarness();
  const moat = h.moat as NonNullable<Harness['moat']>;
  endpoint = { caFile: h.moatCaFile, baseUrl: `https://127.0.0.1:${moat.web.httpsPort}` };
  const claimFile = moat.context.config.get().web.claimFile;
  const code = /claim code:\s*(\S+)/i.exec(readFileSync(claimFile, 'utf8'))?.[1] ?? '';
  admin = await claimAsOwner(endpoint, code, 'correct horse battery');
  await waitForPrinterReady(h);
});

after(async () => {
  for (const child of children) await child.kill();
  await h?.close();
});

describe('/metrics', () => {
  let token = '';

  it('does not exist until the owner turns it on (404, with or without a token)', async () => {
    assert.equal((await scrapeWith()).status, 404);
    assert.equal((await scrapeWith('A'.repeat(43))).status, 404);
    const settings = await api('GET', '/api/metrics');
    assert.deepEqual(JSON.parse(settings.body), { enabled: false });
  });

  it('is turned on only by a logged-in owner, with a token shown once and stored hashed', async () => {
    const anonymous = await curl(endpoint, '/api/metrics/token', ['-X', 'POST']);
    assert.equal(anonymous.status, 401);
    assert.equal((await curl(endpoint, '/api/metrics')).status, 401);
    // The owner's cookie without the session's CSRF token (a request forged from another site) changes nothing.
    const forged = await curl(endpoint, '/api/metrics/token', ['-X', 'POST', '-H', `Cookie: ${admin.cookie}`]);
    assert.equal(forged.status, 403);
    assert.equal((await scrapeWith()).status, 404);
    const issued = await api('POST', '/api/metrics/token');
    assert.equal(issued.status, 200, issued.body);
    token = (JSON.parse(issued.body) as { token: string }).token;
    assert.match(token, /^[A-Za-z0-9_-]{43}$/);
    const stored = readFileSync(join(h.paths.secrets, 'metrics-token'), 'utf8');
    assert.match(stored, /^[0-9a-f]{64}$/);
    assert.ok(!stored.includes(token));
    assert.deepEqual(JSON.parse((await api('GET', '/api/metrics')).body), { enabled: true });
  });

  it('answers 401 without the token or with a wrong one', async () => {
    const missing = await scrapeWith();
    assert.equal(missing.status, 401);
    assert.match(missing.headers['www-authenticate']?.[0] ?? '', /^Bearer /);
    assert.equal((await scrapeWith(`${token.slice(0, -1)}${token.endsWith('A') ? 'B' : 'A'}`)).status, 401);
    assert.equal((await curl(endpoint, '/metrics', ['-H', `Authorization: Basic ${token}`])).status, 401);
  });

  it('parses as the Prometheus text format and says how Moat and the printer are doing', async () => {
    const families = await scrape(token);
    for (const [name, type] of [
      ['moat_printer_online', 'gauge'],
      ['moat_upstream_reconnects_total', 'counter'],
      ['moat_reports_total', 'counter'],
      ['moat_commands_total', 'counter'],
      ['moat_lan_clients', 'gauge'],
      ['moat_lan_connections_total', 'counter'],
      ['moat_relayed_bytes_total', 'counter'],
      ['moat_upload_duration_seconds', 'histogram'],
      ['moat_firewall_dropped_packets_total', 'counter'],
      ['moat_firewall_cloud_dropped_packets_total', 'counter'],
      ['moat_login_failures_total', 'counter'],
      ['moat_process_cpu_seconds_total', 'counter'],
      ['moat_process_resident_memory_bytes', 'gauge'],
      ['moat_nodejs_eventloop_lag_p99_seconds', 'gauge'],
      ['moat_state_dir_free_bytes', 'gauge'],
    ] as const) {
      assert.equal(families.get(name)?.type, type, `${name} is a ${type}`);
    }
    assert.equal(sampleValue(families, 'moat_printer_online', { serial: h.serial }), 1);
    assert.equal(sampleValue(families, 'moat_upstream_reconnects_total', { serial: h.serial }), 0);
    assert.ok((sampleValue(families, 'moat_state_dir_free_bytes') ?? 0) > 0);
    assert.ok((sampleValue(families, 'moat_process_resident_memory_bytes') ?? 0) > 0);
    // The two refused scrapes above (missing and wrong token; the Basic one too).
    assert.equal(sampleValue(families, 'moat_login_failures_total', { service: 'metrics' }), 3);
    // No printer-registry names leak in: everything Moat exports is its own.
    assert.deepEqual(
      [...families.keys()].filter((name) => !name.startsWith('moat_')),
      [],
    );
  });

  it('counts reports from the printer and the bytes they carry', async () => {
    const families = await scrape(token);
    const mqttBytes = { service: 'mqtt', direction: 'from_printer' };
    const reports = sampleValue(families, 'moat_reports_total', { serial: h.serial }) ?? 0;
    const bytes = sampleValue(families, 'moat_relayed_bytes_total', mqttBytes) ?? 0;
    const report = JSON.stringify({ print: { command: 'push_status', sequence_id: '7', nozzle_temper: 215.5 } });
    h.sim.publishReport?.(report);
    await waitForSample(token, 'moat_reports_total', { serial: h.serial }, reports + 1);
    // Moat rewrites addresses and strips secrets, so the relayed size is close to, not exactly, the sent one.
    await waitForSample(token, 'moat_relayed_bytes_total', mqttBytes, bytes + report.length / 2);
  });

  it('counts an MQTT client that connects, and a viewer’s refused pause', async () => {
    const families = await scrape(token);
    const labels = { protocol: 'mqtt', role: 'viewer' };
    assert.equal(sampleValue(families, 'moat_lan_clients', labels), 0);
    assert.equal(sampleValue(families, 'moat_lan_connections_total', labels), undefined);
    const sub = new MosquittoProcess('mosquitto_sub', [
      ...mosquittoArgs(moatEndpoint(h, 'viewer')),
      '-t',
      `device/${h.serial}/report`,
      '-i',
      'metrics-viewer',
    ]);
    children.push(sub);
    await waitForSample(token, 'moat_lan_connections_total', labels, 1);
    await waitForSample(token, 'moat_lan_clients', labels, 1);

    const refused = { serial: h.serial, role: 'viewer', outcome: 'refused' };
    assert.equal(sampleValue(await scrape(token), 'moat_commands_total', refused), undefined);
    const pause = JSON.stringify({ print: { sequence_id: 'm1', command: 'pause', param: '' } });
    const pub = new MosquittoProcess('mosquitto_pub', [
      ...mosquittoArgs(moatEndpoint(h, 'viewer')),
      '-t',
      `device/${h.serial}/request`,
      '-m',
      pause,
    ]);
    children.push(pub);
    assert.equal(await pub.exited, 0, pub.stderr.join('\n'));
    await waitForSample(token, 'moat_commands_total', refused, 1);
  });

  it('counts a wrong MQTT access code as a login failure', async () => {
    const wrong = new MosquittoProcess('mosquitto_pub', [
      ...mosquittoArgs({ ...moatEndpoint(h, 'viewer'), password: 'not-a-code' }),
      '-t',
      'x',
      '-m',
      'x',
    ]);
    children.push(wrong);
    assert.notEqual(await wrong.exited, 0);
    await waitForSample(token, 'moat_login_failures_total', { service: 'mqtt' }, 1);
  });

  it('counts a wrong FTPS access code as a login failure', async () => {
    const before = await scrape(token);
    assert.equal(sampleValue(before, 'moat_login_failures_total', { service: 'ftp' }), 0);
    const wrong = await run('curl', curlArgs({ ...moatFtpTarget(h, 'viewer'), password: 'not-a-code' }, ''));
    // curl's 67: the server refused the login (530).
    assert.equal(wrong.code, 67, wrong.stderr);
    await waitForSample(token, 'moat_login_failures_total', { service: 'ftp' }, 1);
  });

  it('counts an FTPS upload by curl: transfer, duration and bytes', async () => {
    const source = join(h.dir, 'metrics-upload.3mf');
    const size = 3 * 1024 * 1024 + 17;
    writeRandomFile(source, size);
    const before = await scrape(token);
    const ftpBytes = { service: 'ftp', direction: 'to_printer' };
    assert.equal(sampleValue(before, 'moat_upload_duration_seconds_count', { outcome: 'done' }), undefined);
    const up = await run('curl', curlArgs(moatFtpTarget(h, 'operator'), 'metrics-upload.3mf', ['-T', source]));
    assert.equal(up.code, 0, up.stderr);
    await waitForSample(token, 'moat_transfers_total', { direction: 'upload', outcome: 'done' }, 1);
    const after = await scrape(token);
    assert.equal(sampleValue(after, 'moat_upload_duration_seconds_count', { outcome: 'done' }), 1);
    assert.ok((sampleValue(after, 'moat_upload_duration_seconds_sum', { outcome: 'done' }) ?? 0) > 0);
    assert.equal(sampleValue(after, 'moat_relayed_bytes_total', ftpBytes), size);
  });

  it('a new token replaces the old one; turning metrics off removes the page', async () => {
    const issued = await api('POST', '/api/metrics/token');
    const next = (JSON.parse(issued.body) as { token: string }).token;
    assert.notEqual(next, token);
    assert.equal((await scrapeWith(token)).status, 401);
    assert.equal((await scrapeWith(next)).status, 200);
    const off = await api('DELETE', '/api/metrics/token');
    assert.equal(off.status, 200);
    assert.equal((await scrapeWith(next)).status, 404);
    assert.deepEqual(JSON.parse((await api('GET', '/api/metrics')).body), { enabled: false });
  });
});

describe('the dashboard’s metrics card', () => {
  it('turns metrics on with a token shown once, and off again', async (t) => {
    if (!existsSync('/usr/bin/chromium')) {
      t.skip('Debian chromium is not installed (/usr/bin/chromium)');
      return;
    }
    const browser = await launchBrowser((h.moat as NonNullable<Harness['moat']>).context.identity.certPem);
    try {
      // The owner's session from the claim above, as the browser's cookie.
      const eq = admin.cookie.indexOf('=');
      const [name, value] = [admin.cookie.slice(0, eq), admin.cookie.slice(eq + 1)];
      await browser.context.addCookies([{ name, value, url: endpoint.baseUrl, secure: true, httpOnly: true }]);
      const { page } = browser;
      await page.goto(`${endpoint.baseUrl}/#/`);
      const state = page.locator('#metrics-state');
      await waitFor(async () => /^Off/.test((await state.textContent()) ?? ''), { what: 'the card saying off' });
      assert.equal(await page.locator('#metrics-revoke').isVisible(), false);
      await page.click('#metrics-issue');
      const shown = page.locator('#metrics-token code');
      await shown.waitFor();
      const token = ((await shown.textContent()) ?? '').trim();
      assert.match((await state.textContent()) ?? '', /^On/);
      assert.equal((await scrapeWith(token)).status, 200);
      await page.click('#metrics-revoke');
      await waitFor(async () => /^Off/.test((await state.textContent()) ?? ''), { what: 'the card saying off again' });
      assert.equal(await shown.count(), 0, 'the token is no longer shown');
      assert.equal((await scrapeWith(token)).status, 404);
      assert.deepEqual(unexpectedErrors(browser.errors), []);
    } finally {
      await browser.close();
    }
  });
});

describe('the test’s exposition parser', () => {
  it('accepts what Prometheus accepts and refuses what it would reject', () => {
    const good = [
      '# HELP a_total Help with \\\\ and \\n.',
      '# TYPE a_total counter',
      'a_total{x="q\\"uote",y="nl\\n"} 3',
      'a_total 1e3 1700000000000',
      '# TYPE h histogram',
      'h_bucket{le="1"} 1',
      'h_bucket{le="+Inf"} 2',
      'h_sum 3.5',
      'h_count 2',
      '',
    ].join('\n');
    const families = parsePrometheusText(good);
    assert.equal(sampleValue(families, 'a_total', { x: 'q"uote', y: 'nl\n' }), 3);
    assert.equal(sampleValue(families, 'h_count'), 2);
    for (const bad of [
      'a 1',
      'a{x="1"} one\n',
      'a{x=1} 1\n',
      'a{x="\\t"} 1\n',
      '1a 1\n',
      'a 1\nb 1\na 2\n',
      'a 1\na 1\n',
      'a 1\n# TYPE a gauge\n',
      '# TYPE a meter\n',
      '# TYPE h histogram\nh_bucket{le="1"} 2\nh_bucket{le="+Inf"} 1\nh_count 1\n',
      '# TYPE h histogram\nh_bucket{le="1"} 1\nh_count 1\n',
    ]) {
      assert.throws(() => parsePrometheusText(bad), Error, JSON.stringify(bad));
    }
  });
});
