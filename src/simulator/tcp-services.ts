import { timingSafeEqual } from 'node:crypto';
import { type AddressInfo, createServer as createTcpServer, type Server, type Socket } from 'node:net';
import { createServer as createTlsServer } from 'node:tls';
import { printerLikeServerTlsOptions } from '../tls-profiles.js';
import type { SimulatedTcpServicesOptions } from './types.js';

/**
 * Stand-ins for the printer's other TCP services, simple but speaking each protocol's first steps on real
 * sockets, so the relays have something true to carry:
 * - 322 RTSPS: answers RTSP requests over TLS (no media).
 * - 6000 camera: the P1/A1 JPEG stream over TLS: an 80-byte auth packet, then a 16-byte header + JPEG per frame.
 * - 3000 plain / 3002 TLS: the bind/detect handshake, `A5 A5` + u16le frame length + JSON + `A7 A7`.
 */
export interface SimulatedTcpServices {
  ports: { rtsps: number; tunnel: number; bind: number; bindTls: number };
  close(): Promise<void>;
}

const authPacketBytes = 80;
const frameHeaderBytes = 16;
const bindFrameStart = Buffer.from([0xa5, 0xa5]);
const bindFrameEnd = Buffer.from([0xa7, 0xa7]);
const maxBindFrameBytes = 4096;

/** A frame of the bind/detect protocol around a JSON value. */
export function encodeBindFrame(value: unknown): Buffer {
  const json = Buffer.from(JSON.stringify(value), 'utf8');
  const length = Buffer.alloc(2);
  length.writeUInt16LE(json.length + 6);
  return Buffer.concat([bindFrameStart, length, json, bindFrameEnd]);
}

/** Reads one bind frame from the front of a buffer: the JSON, 'incomplete', or 'invalid'. */
export function decodeBindFrame(buffer: Buffer): { value: unknown; bytes: number } | 'incomplete' | 'invalid' {
  if (buffer.length < 4) return 'incomplete';
  if (!buffer.subarray(0, 2).equals(bindFrameStart)) return 'invalid';
  const length = buffer.readUInt16LE(2);
  if (length < 6 || length > maxBindFrameBytes) return 'invalid';
  if (buffer.length < length) return 'incomplete';
  if (!buffer.subarray(length - 2, length).equals(bindFrameEnd)) return 'invalid';
  try {
    return { value: JSON.parse(buffer.subarray(4, length - 2).toString('utf8')), bytes: length };
  } catch {
    return 'invalid';
  }
}

/** The 80-byte packet a camera client sends first: two u32 magic words, 8 zero bytes, user and code. */
export function cameraAuthPacket(username: string, accessCode: string): Buffer {
  const packet = Buffer.alloc(authPacketBytes);
  packet.writeUInt32LE(0x40, 0);
  packet.writeUInt32LE(0x3000, 4);
  packet.write(username, 16, 32, 'ascii');
  packet.write(accessCode, 48, 32, 'ascii');
  return packet;
}

function sameSecret(a: Buffer, b: Buffer): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}

function serveCamera(socket: Socket, options: SimulatedTcpServicesOptions): void {
  const expected = cameraAuthPacket('bblp', options.accessCode);
  let received = Buffer.alloc(0);
  let timer: NodeJS.Timeout | undefined;
  let frame = 0;
  socket.on('data', (chunk: Buffer) => {
    if (timer) return; // after authentication the client only listens
    received = Buffer.concat([received, chunk]);
    if (received.length < authPacketBytes) return;
    if (!sameSecret(received.subarray(0, authPacketBytes), expected)) {
      socket.destroy();
      return;
    }
    const sendFrame = () => {
      // A slow client misses frames rather than growing the printer's buffers, as a camera does.
      if (socket.writableLength > 64 * 1024) return;
      const jpeg = Buffer.concat([
        Buffer.from([0xff, 0xd8, 0xff, 0xe0]),
        Buffer.from(`frame ${frame++} ${options.serial}`),
        Buffer.from([0xff, 0xd9]),
      ]);
      const header = Buffer.alloc(frameHeaderBytes);
      header.writeUInt32LE(jpeg.length, 0);
      header.writeUInt32LE(1, 8);
      socket.write(Buffer.concat([header, jpeg]));
    };
    sendFrame();
    timer = setInterval(sendFrame, options.frameIntervalMs ?? 200);
  });
  socket.on('close', () => clearInterval(timer));
}

function serveRtsp(socket: Socket): void {
  let received = '';
  socket.setEncoding('latin1');
  socket.on('data', (chunk: string) => {
    received += chunk;
    if (received.length > 8192) socket.destroy();
    for (let end = received.indexOf('\r\n\r\n'); end >= 0; end = received.indexOf('\r\n\r\n')) {
      const request = received.slice(0, end);
      received = received.slice(end + 4);
      const cseq = /^CSeq:\s*(\d+)/im.exec(request)?.[1] ?? '0';
      const method = request.split(' ', 1)[0];
      const extra = method === 'OPTIONS' ? 'Public: OPTIONS, DESCRIBE, SETUP, PLAY, TEARDOWN\r\n' : '';
      socket.write(`RTSP/1.0 200 OK\r\nCSeq: ${cseq}\r\n${extra}\r\n`);
    }
  });
}

function serveBind(socket: Socket, options: SimulatedTcpServicesOptions): void {
  let received = Buffer.alloc(0);
  socket.on('data', (chunk: Buffer) => {
    received = Buffer.concat([received, chunk]);
    const frame = decodeBindFrame(received);
    if (frame === 'incomplete') return;
    const login =
      frame === 'invalid' ? undefined : (frame.value as { login?: { command?: unknown; sequence_id?: unknown } }).login;
    if (login?.command !== 'detect') {
      socket.destroy();
      return;
    }
    socket.end(
      encodeBindFrame({
        login: {
          bind: 'free',
          command: 'detect',
          connect: 'lan',
          dev_cap: 1,
          id: options.serial,
          model: options.model.ssdpModel,
          name: `Simulated ${options.model.id}`,
          sequence_id: Number(login.sequence_id) || 0,
          version: '01.07.00.00',
        },
      }),
    );
  });
}

async function listen(server: Server, port: number, host: string): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return (server.address() as AddressInfo).port;
}

export async function startSimulatedTcpServices(options: SimulatedTcpServicesOptions): Promise<SimulatedTcpServices> {
  const tls = printerLikeServerTlsOptions({ certPem: options.pki.leaf.certPem, keyPem: options.pki.leaf.keyPem });
  const { stats } = options;
  const sockets = new Set<Socket>();
  const track = (socket: Socket) => {
    sockets.add(socket);
    socket.on('error', () => {});
    socket.on('close', () => sockets.delete(socket));
  };
  const servers = {
    rtsps: createTlsServer(tls, (s) => {
      track(s);
      stats.tcpConnections.rtsps++;
      serveRtsp(s);
    }),
    tunnel: createTlsServer(tls, (s) => {
      track(s);
      stats.tcpConnections.tunnel++;
      serveCamera(s, options);
    }),
    bind: createTcpServer((s) => {
      track(s);
      stats.tcpConnections.bind++;
      serveBind(s, options);
    }),
    bindTls: createTlsServer(tls, (s) => {
      track(s);
      stats.tcpConnections.bindTls++;
      serveBind(s, options);
    }),
  };
  for (const server of Object.values(servers)) server.on('tlsClientError', () => {});
  const close = async () => {
    for (const socket of sockets) socket.destroy();
    await Promise.all(
      Object.values(servers).map(
        (s) => new Promise<void>((resolve) => (s.listening ? s.close(() => resolve()) : resolve())),
      ),
    );
  };
  try {
    const ports = {
      rtsps: await listen(servers.rtsps, options.ports?.rtsps ?? 0, options.host),
      tunnel: await listen(servers.tunnel, options.ports?.tunnel ?? 0, options.host),
      bind: await listen(servers.bind, options.ports?.bind ?? 0, options.host),
      bindTls: await listen(servers.bindTls, options.ports?.bindTls ?? 0, options.host),
    };
    return { ports, close };
  } catch (error) {
    await close();
    throw error;
  }
}
