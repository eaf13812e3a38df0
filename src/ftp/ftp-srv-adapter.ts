import type { EventEmitter } from 'node:events';
import { createRequire } from 'node:module';
import type { Socket } from 'node:net';
import type { TLSSocket, Server as TlsServer } from 'node:tls';
import { type FtpConnection, type FtpServerOptions, FtpSrv } from 'ftp-srv';

/**
 * The one door to ftp-srv's internals. ftp-srv is abandoned upstream and Moat replaces its data commands, so
 * Moat depends on parts of it that are not its public API: the command registry (a deep require), the base
 * data connector, the private TLS listener (`server.server`, replaced by Moat's own) and the connection handler
 * on it, a connection's `commandSocket` and `connector`, the undeclared 'connect' event and the signal handlers
 * its constructor installs. Everything of that kind
 * lives here; ftp-srv-adapter.test.ts fails loudly when an ftp-srv update moves any of it.
 */

/** A command as ftp-srv parsed it. */
export interface FtpCommand {
  directive: string;
  arg: string | null;
}

/** A LAN session as Moat's command handlers see it. */
export interface FtpSession<Fs = unknown> {
  readonly id: string;
  readonly commandSocket: Socket;
  readonly fs: Fs;
  reply(code: number, message?: string): Promise<unknown>;
}

export type CommandHandler<Fs = unknown> = (session: FtpSession<Fs>, command: FtpCommand) => Promise<unknown>;

/** A data connector as ftp-srv's connection keeps one: its own code ends it on ABOR and disconnect. */
export interface DataConnector {
  waitForConnection(): Promise<Socket>;
  end(): void;
}

interface Internals {
  commandSocket: Socket;
  connector: DataConnector;
}

type RegistryHandler = (this: FtpConnection, args: { command: FtpCommand }) => Promise<unknown>;

const require = createRequire(import.meta.url);
export const registry = require('ftp-srv/src/commands/registry.js') as Record<
  string,
  { handler: RegistryHandler; moat?: boolean }
>;
const BaseConnector = require('ftp-srv/src/connector/base.js') as new (
  connection: FtpConnection,
) => DataConnector & { type: string | false; closeServer(): void };

/** Handlers per server: ftp-srv's registry is one object per process, a server that is not Moat's keeps its own. */
const serverHandlers = new WeakMap<FtpSrv, Record<string, CommandHandler>>();

export const signals = ['SIGINT', 'SIGTERM', 'SIGQUIT'] as const;

export interface AdaptedServer {
  server: FtpSrv;
  /** Hands a control connection accepted by Moat's listener to ftp-srv: the greeting, then its commands. */
  accept(commandSocket: TLSSocket): void;
  /**
   * Called with each new control connection's socket, before its greeting. A listener that returns a message
   * refuses the connection: `421 message` instead of the greeting, then it is closed.
   */
  onConnect(listener: (commandSocket: TLSSocket) => string | undefined): void;
  /** Replaces ftp-srv's handlers for these commands on this server only. */
  replaceCommands<Fs>(handlers: Record<string, CommandHandler<Fs>>): void;
}

/**
 * An ftp-srv server that serves the connections of `control`, a TLS listener Moat made and listens on: ftp-srv
 * is loaded only when a first client has connected (see bridge.ts). ftp-srv's own listener never listens; its
 * `close()` closes `control` instead, after ending its connections.
 */
export function createFtpServer(options: FtpServerOptions, control: TlsServer): AdaptedServer {
  const before = new Map(signals.map((signal) => [signal, process.listeners(signal)]));
  const server = new FtpSrv(options);
  // ftp-srv installs handlers that call process.exit(): the composition root owns signals.
  for (const [signal, listeners] of before) {
    for (const listener of process.listeners(signal)) if (!listeners.includes(listener)) process.off(signal, listener);
  }
  const internals = server as unknown as { server: TlsServer };
  const [handler] = internals.server.listeners('secureConnection') as ((socket: TLSSocket) => Promise<unknown>)[];
  if (!handler) throw new Error("ftp-srv's listener has no connection handler");
  internals.server = control;
  return {
    server,
    accept: (commandSocket) => void handler(commandSocket),
    // 'connect' is emitted by ftp-srv but missing from its type declarations.
    onConnect: (listener) =>
      (server as EventEmitter).on('connect', ({ connection }: { connection: Internals & FtpConnection }) => {
        const refusal = listener(connection.commandSocket as TLSSocket);
        if (refusal !== undefined) void refuseConnection(connection, refusal);
      }),
    replaceCommands: (handlers) => {
      for (const directive of Object.keys(handlers)) patchRegistry(directive);
      serverHandlers.set(server, handlers as Record<string, CommandHandler>);
    },
  };
}

function patchRegistry(directive: string): void {
  const entry = registry[directive];
  if (!entry) throw new Error(`ftp-srv has no ${directive} command to replace`);
  if (entry.moat) return;
  const original = entry.handler;
  entry.handler = function (args) {
    const handler = serverHandlers.get(this.server as FtpSrv)?.[directive];
    return handler ? handler(session(this), args.command) : original.call(this, args);
  };
  entry.moat = true;
}

/**
 * Ends a connection with `421 message`, vsFTPd's answer when a limit is reached. Whatever ftp-srv still
 * replies on it — the greeting right after 'connect', the 530 after a refused login — is dropped.
 */
export async function refuseConnection(connection: FtpConnection, message: string): Promise<void> {
  const reply = connection.reply.bind(connection);
  connection.reply = () => Promise.resolve();
  await reply(421, message);
  commandSocket(connection).destroy();
}

/** The control connection's socket of an ftp-srv connection (a login event's connection, say). */
export function commandSocket(connection: FtpConnection): Socket {
  return (connection as unknown as Internals).commandSocket;
}

const connections = new WeakMap<FtpSession, FtpConnection>();

function session<Fs>(connection: FtpConnection): FtpSession<Fs> {
  const internals = connection as unknown as Internals & { fs: Fs };
  const made: FtpSession<Fs> = {
    id: connection.id,
    commandSocket: internals.commandSocket,
    get fs() {
      return internals.fs;
    },
    reply: (code, message) => (message === undefined ? connection.reply(code) : connection.reply(code, message)),
  };
  connections.set(made, connection);
  return made;
}

function internalsOf(session: FtpSession): Internals & FtpConnection {
  const connection = connections.get(session);
  if (!connection) throw new Error('not a session made by the ftp-srv adapter');
  return connection as unknown as Internals & FtpConnection;
}

/** The session's data connector: ftp-srv's base one (no data channel: it rejects) or one set by `setConnector`. */
export function connectorOf(session: FtpSession): DataConnector {
  return internalsOf(session).connector;
}

/**
 * Makes a passive data channel the session's connector, ending the previous one; ftp-srv's own code ends it on
 * ABOR and on disconnect, which calls `close`.
 */
export function setConnector(session: FtpSession, waitForConnection: () => Promise<Socket>, close: () => void): void {
  const connection = internalsOf(session);
  connection.connector.end();
  const connector = new BaseConnector(connection);
  connector.type = 'passive';
  connector.waitForConnection = waitForConnection;
  connector.closeServer = close;
  connection.connector = connector;
}
