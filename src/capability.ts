import type { Logger } from './log.js';
import type { RunningService, ServiceContext } from './service-context.js';

/**
 * One capability of Moat (a bridge, the relays, discovery, the web server, the firewall): started with the
 * service context, stopped by the close() of what it returns. Each capability module exports one of these.
 */
export interface Capability<T extends RunningService = RunningService, C = ServiceContext> {
  readonly name: string;
  start(context: C): Promise<T>;
}

/** What each capability of a list started, in the list's order and with its type. */
export type Started<L> = { -readonly [K in keyof L]: L[K] extends Capability<infer T, never> ? T : never };

export interface StartedList<L> extends RunningService {
  readonly running: Started<L>;
}

/**
 * The one start/rollback/close sequence: starts `capabilities` in order; when one fails, those already started
 * are closed in reverse order and the failure is rethrown. close() stops them in reverse order too; a close
 * that fails is logged and the others still close, so one stuck capability cannot keep the rest's ports open.
 */
export async function startInOrder<
  C extends { logger: Logger },
  const L extends readonly Capability<RunningService, C>[],
>(context: C, capabilities: L): Promise<StartedList<L>> {
  const running: { name: string; service: RunningService }[] = [];
  const close = async () => {
    for (const { name, service } of running.splice(0).reverse()) {
      await service
        .close()
        .catch((error: unknown) => context.logger.error({ err: error, name }, 'error while stopping'));
    }
  };
  try {
    for (const capability of capabilities) {
      running.push({ name: capability.name, service: await capability.start(context) });
    }
  } catch (error) {
    await close();
    throw error;
  }
  return { running: running.map(({ service }) => service) as Started<L>, close };
}

/** A running capability that can be stopped and started again in place (the printer plane, discovery). */
export interface Restartable<T extends RunningService> extends RunningService {
  /** Undefined while restarting, and after a restart that failed until the next one succeeds. */
  readonly current: T | undefined;
  restart(): Promise<void>;
}

export function restartable<T extends RunningService, C>(capability: Capability<T, C>): Capability<Restartable<T>, C> {
  return {
    name: capability.name,
    async start(context) {
      let current: T | undefined = await capability.start(context);
      const stop = async () => {
        const previous = current;
        current = undefined;
        await previous?.close();
      };
      return {
        get current() {
          return current;
        },
        async restart() {
          await stop();
          current = await capability.start(context);
        },
        close: stop,
      };
    },
  };
}
