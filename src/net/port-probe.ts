import { createServer } from 'node:net';

/** Whether this process may listen on host:port right now (privileges, and nobody else on it). */
export function canListen(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen({ host, port, exclusive: true }, () => server.close(() => resolve(true)));
  });
}

/** The first port of the list that can be bound on host, else undefined. */
export async function firstListenable(host: string, ports: number[]): Promise<number | undefined> {
  for (const port of ports) if (await canListen(host, port)) return port;
  return undefined;
}
