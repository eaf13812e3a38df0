import assert from 'node:assert/strict';
import { createServer, type Server, type Socket, connect as tcpConnect } from 'node:net';
import { after, before, describe, test } from 'node:test';
import type { MqttClient } from 'mqtt';
import type { AuditEvent } from '../../src/events.js';
import { type Harness, startHarness } from '../helpers/harness.js';
import { capturingLogger } from '../helpers/log-capture.js';
import { connectMqtt, moatEndpoint, waitForPrinterReady } from '../helpers/mqtt-clients.js';
import { waitFor } from '../helpers/wait.js';

/**
 * A TCP relay between Moat and the printer's MQTT (plaintext, so it can see the command go by). Armed with a
 * command's bytes, it swallows everything the printer sends back on that connection once those bytes have gone
 * towards the printer: the printer gets the command, Moat never gets its PUBACK. `cut()` closes both sides.
 */
interface Relay {
  server: Server;
  port: number;
  connections: number;
  swallowedBytes: number;
  arm(command: Buffer): void;
  cut(): void;
}

async function startRelay(target: () => { host: string; port: number }): Promise<Relay> {
  const pairs = new Set<[Socket, Socket]>();
  let armed: Buffer | undefined;
  const relay: Relay = {
    server: createServer((moat) => {
      relay.connections++;
      const printer = tcpConnect(target());
      const pair: [Socket, Socket] = [moat, printer];
      pairs.add(pair);
      // Searched across chunks, in case TCP splits the command.
      let towardsPrinter = Buffer.alloc(0);
      let swallowing = false;
      moat.on('data', (chunk: Buffer) => {
        if (armed && !swallowing) {
          towardsPrinter = Buffer.concat([towardsPrinter, chunk]).subarray(-64 * 1024);
          if (towardsPrinter.includes(armed)) {
            swallowing = true;
            armed = undefined;
          }
        }
        printer.write(chunk);
      });
      printer.on('data', (chunk: Buffer) => {
        if (swallowing) relay.swallowedBytes += chunk.length;
        else moat.write(chunk);
      });
      const close = () => {
        pairs.delete(pair);
        moat.destroy();
        printer.destroy();
      };
      for (const socket of pair) {
        socket.on('error', close);
        socket.on('close', close);
      }
    }),
    port: 0,
    connections: 0,
    swallowedBytes: 0,
    arm(command) {
      armed = command;
    },
    cut() {
      for (const [moat, printer] of [...pairs]) {
        moat.destroy();
        printer.destroy();
      }
    },
  };
  await new Promise<void>((resolve) => relay.server.listen(0, '127.0.0.1', resolve));
  relay.port = (relay.server.address() as { port: number }).port;
  return relay;
}

/** A command the printer never acknowledged, because the connection to it closed, is not audited as allowed. */
describe('MQTT bridge: a command lost with the printer connection', () => {
  let h: Harness;
  let relay: Relay;
  let lines: Record<string, unknown>[];
  const clients: MqttClient[] = [];

  before(async () => {
    let printer: { host: string; port: number } | undefined;
    relay = await startRelay(() => printer as { host: string; port: number });
    const capture = capturingLogger();
    lines = capture.lines;
    h = await startHarness({
      ftp: false,
      mqtt: 'plain',
      logger: capture.logger,
      configure(config, sim) {
        printer = { host: sim.host, port: sim.ports.mqtt as number };
        const [first, ...rest] = config.printers;
        return {
          ...config,
          mqtt: { ...config.mqtt, upstreamRetryMinMs: 50, upstreamRetryMaxMs: 200 },
          printers: [{ ...first, mqtt: { ...first?.mqtt, port: relay.port } }, ...rest] as typeof config.printers,
        };
      },
    });
    await waitForPrinterReady(h);
  });
  after(async () => {
    for (const c of clients.splice(0)) await c.endAsync(true).catch(() => {});
    await h.close();
    relay.cut();
    await new Promise((resolve) => relay.server.close(resolve));
  });

  const audited = (command: string) =>
    waitFor(async () => (await h.moat?.mqtt.audit({}))?.find((e) => e.command === command), {
      what: `the audit entry of ${command}`,
      timeoutMs: 15000,
    });

  test('no PUBACK, then the connection closes: audited dropped with the reason; the next command is allowed', async () => {
    const request = `device/${h.serial}/request`;
    const admin = await connectMqtt(moatEndpoint(h, 'admin'));
    clients.push(admin);
    let adminClosed = false;
    admin.on('close', () => {
      adminClosed = true;
    });
    assert.equal(relay.connections, 1);

    const gcode = JSON.stringify({ print: { sequence_id: 'lost-1', command: 'gcode_line', param: 'M400\n' } });
    relay.arm(Buffer.from(gcode));
    await admin.publishAsync(request, gcode, { qos: 1 });
    await waitFor(() => h.sim.stats.commands.some((c) => c.payload === gcode), {
      what: 'the printer to receive the command',
    });
    // The printer acknowledged it (and answered); none of that reached Moat.
    await waitFor(() => relay.swallowedBytes > 0, { what: 'the printer to answer into the relay' });
    relay.cut();

    const lost: AuditEvent = await audited('print.gcode_line');
    assert.notEqual(lost.outcome, 'allowed', 'a command the printer never acknowledged was audited as allowed');
    assert.equal(lost.outcome, 'dropped');
    assert.equal(lost.reason, 'printer connection closed before the printer acknowledged it');
    assert.equal(lost.result, undefined);
    assert.equal(lost.label, 'admin test');
    const logged = lines.find((l) => String(l.msg).startsWith('command dropped'));
    assert.ok(logged, 'the dropped command is logged');
    assert.equal(logged.command, 'print.gcode_line');
    assert.match(String(logged.msg), /before the printer acknowledged it/);

    await waitFor(() => relay.connections >= 2, { what: 'Moat to reach the printer again through the relay' });
    await waitForPrinterReady(h);
    const ledctrl = JSON.stringify({
      system: { sequence_id: 'after-1', command: 'ledctrl', led_node: 'chamber_light', led_mode: 'on' },
    });
    await admin.publishAsync(request, ledctrl, { qos: 1 });
    const allowed = await audited('system.ledctrl');
    assert.equal(allowed.outcome, 'allowed');
    assert.equal(allowed.result, 'success');
    assert.ok(h.sim.stats.commands.some((c) => c.payload === ledctrl));
    assert.equal(adminClosed, false, 'the LAN client was disconnected');
    assert.equal(admin.connected, true);
  });
});
