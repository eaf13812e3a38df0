import { readFileSync } from 'node:fs';
import { connect, type TLSSocket } from 'node:tls';

/**
 * An FTPS control connection driven line by line, for what no client program sends on purpose: a PASV whose
 * data connection never comes, commands outside the printer's dialect, an idle session. Replies are read
 * whole (multi-line replies joined); every wait is bounded.
 */
export interface FtpControl {
  /** Sends a command and resolves with its final reply (a preliminary 1xx is returned too). */
  send(line: string, timeoutMs?: number): Promise<string>;
  /** The next reply, without sending anything. */
  next(timeoutMs?: number): Promise<string>;
  /** Resolves when the server has closed the connection. */
  closed: Promise<void>;
  close(): void;
}

export async function ftpControl(port: number, caFile: string): Promise<FtpControl> {
  const socket: TLSSocket = connect({
    host: '127.0.0.1',
    port,
    ca: readFileSync(caFile),
    checkServerIdentity: () => undefined,
  });
  const replies: string[] = [];
  const waiting: ((reply: string) => void)[] = [];
  let buffered = '';
  let multiline: string | undefined;
  socket.setEncoding('utf8');
  socket.on('data', (chunk: string) => {
    buffered += chunk;
    for (let end = buffered.indexOf('\r\n'); end >= 0; end = buffered.indexOf('\r\n')) {
      const line = buffered.slice(0, end);
      buffered = buffered.slice(end + 2);
      if (multiline === undefined && /^\d{3}-/.test(line)) multiline = line.slice(0, 3);
      if (multiline !== undefined && !line.startsWith(`${multiline} `)) continue;
      multiline = undefined;
      const resolve = waiting.shift();
      if (resolve) resolve(line);
      else replies.push(line);
    }
  });
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  socket.on('error', () => {});
  const next = (timeoutMs = 15_000) =>
    new Promise<string>((resolve, reject) => {
      const queued = replies.shift();
      if (queued !== undefined) return resolve(queued);
      const timer = setTimeout(() => reject(new Error('no FTP reply in time')), timeoutMs);
      const gone = () => reject(new Error('FTP connection closed'));
      closed.then(gone);
      waiting.push((reply) => {
        clearTimeout(timer);
        resolve(reply);
      });
    });
  const greeting = await next();
  if (!greeting.startsWith('220')) throw new Error(`unexpected greeting: ${greeting}`);
  return {
    send: (line, timeoutMs) => {
      socket.write(`${line}\r\n`);
      return next(timeoutMs);
    },
    next,
    closed,
    close: () => socket.destroy(),
  };
}

/** Logs in as `bblp` with `code` and sets the data channel up as the printer's clients do. */
export async function loggedIn(port: number, caFile: string, code: string): Promise<FtpControl> {
  const control = await ftpControl(port, caFile);
  await control.send('USER bblp');
  const login = await control.send(`PASS ${code}`);
  if (!login.startsWith('230')) throw new Error(`login failed: ${login}`);
  return control;
}
