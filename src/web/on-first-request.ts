import type { RequestListener } from 'node:http';
import type { Logger } from '../log.js';

/**
 * A request handler made at the first request: `load` (server.ts imports the express application, app.ts) runs
 * once, and every request that arrives while it runs waits for the same result. If it fails, the requests that
 * waited get a 500 and the next request tries again.
 */
export function handlerOnFirstRequest(load: () => Promise<RequestListener>, logger: Logger): RequestListener {
  let loading: Promise<RequestListener> | undefined;
  return (req, res) => {
    loading ??= load();
    const handler = loading;
    handler.then(
      (handle) => handle(req, res),
      (error: unknown) => {
        if (loading === handler) loading = undefined;
        logger.error({ err: error }, 'the setup page could not be loaded');
        res.writeHead(500, { 'Content-Type': 'text/plain' }).end('The setup page could not be loaded.\n');
      },
    );
  };
}
