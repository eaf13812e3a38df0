import mqttPacket from 'mqtt-packet';
import { topicFilterMatches } from './topic-filter.js';

/**
 * Printer reports to LAN subscribers, encoded once. aedes encodes and writes a packet separately for each
 * subscriber (a setImmediate, a Packet object, mqtt-packet's generate with five corked writes per client):
 * with 50 subscribers of a 10 KB report that was ~40 % of the CPU Moat spent per report. A report is
 * QoS 0 and never retained, so every subscriber gets the same bytes: they are built once and written to
 * each subscribed client's connection. Who is subscribed is read from aedes's own table
 * (`client.subscriptions`, also filled when a persistent session is restored), matched as aedes matches.
 */

/**
 * mqtt-packet (aedes's encoder and mqtt.js's) fills a table of 65,536 two-byte Buffers on its first packet,
 * one per 16-bit number it may write: ~6 MB of live heap, a third of idle Moat's, on a 512 MB Pi. Moat writes
 * such numbers (topic lengths, packet ids) a few times per report at most, so they are made when written.
 * The setting is the module's own, shared by every encoder in the process; this module is loaded with the
 * MQTT bridge, before any packet is written.
 */
mqttPacket.writeToStream.cacheNumbers = false;

/** What this module reads of an aedes client (aedes's typings leave `subscriptions` out). */
export interface ReportSubscriber {
  connected: boolean;
  closed: boolean;
  conn: { writable: boolean; writableLength: number; write(chunk: Buffer): boolean; destroy(): void };
  subscriptions?: Record<string, unknown>;
}

/** MQTT's largest remaining length (four bytes of seven bits). */
const maxRemainingLength = 268_435_455;

/**
 * An MQTT 3.1.1 PUBLISH, QoS 0, retain and dup clear: the bytes aedes writes for such a packet, in one buffer
 * sized up front. mqtt-packet's `generate` made the same bytes through a stream of pieces joined at the end,
 * ~8 % of Moat's CPU per report with one subscriber (perf, issue 17's fourth pass).
 */
export function encodeReport(topic: string, payload: Buffer): Buffer {
  const topicLength = Buffer.byteLength(topic);
  const remaining = 2 + topicLength + payload.length;
  if (remaining > maxRemainingLength) throw new RangeError(`report of ${payload.length} bytes is too large for MQTT`);
  const lengthBytes = remaining < 0x80 ? 1 : remaining < 0x4000 ? 2 : remaining < 0x200000 ? 3 : 4;
  const packet = Buffer.allocUnsafe(1 + lengthBytes + remaining);
  packet[0] = 0x30;
  let offset = 1;
  for (let rest = remaining; ; ) {
    const low = rest % 0x80;
    rest = Math.floor(rest / 0x80);
    packet[offset++] = rest > 0 ? low | 0x80 : low;
    if (rest === 0) break;
  }
  offset = packet.writeUInt16BE(topicLength, offset);
  offset += packet.write(topic, offset, 'utf8');
  payload.copy(packet, offset);
  return packet;
}

export function subscribesTo(client: ReportSubscriber, topic: string): boolean {
  const subscriptions = client.subscriptions;
  if (subscriptions === undefined) return false;
  // Nearly every client subscribes to the exact topic: one lookup, no filter parsing, per report.
  if (Object.hasOwn(subscriptions, topic)) return true;
  for (const filter of Object.keys(subscriptions)) if (topicFilterMatches(filter, topic)) return true;
  return false;
}

/**
 * How much unsent report data one client may have queued in Moat. A subscriber that stops reading would
 * otherwise hold every later report in memory (QoS 0 has no flow control but the socket's own), as
 * mosquitto's max_queued_bytes guards against; past the cap the client is disconnected.
 */
export interface ReportQueueCap {
  maxBytes: number;
  onOverflow(client: ReportSubscriber, queuedBytes: number): void;
}

/**
 * Writes an encoded report to one client, as aedes would: only to a connected, open connection; a client
 * whose queue would pass the cap is disconnected instead.
 */
export function sendReport(client: ReportSubscriber, packet: Buffer, cap: ReportQueueCap): void {
  if (!client.connected || client.closed || !client.conn.writable) return;
  const queued = client.conn.writableLength;
  if (queued + packet.length > cap.maxBytes) {
    client.conn.destroy();
    cap.onOverflow(client, queued);
    return;
  }
  client.conn.write(packet);
}

/** Sends a report to every client subscribed to its topic (once each, however many filters match). */
export function fanOutReport(
  clients: Iterable<ReportSubscriber>,
  topic: string,
  payload: Buffer,
  cap: ReportQueueCap,
): void {
  let packet: Buffer | undefined;
  for (const client of clients) {
    if (!subscribesTo(client, topic)) continue;
    packet ??= encodeReport(topic, payload);
    sendReport(client, packet, cap);
  }
}
