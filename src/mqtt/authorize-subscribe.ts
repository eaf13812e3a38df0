import type { AedesOptions } from 'aedes';
import type { Logger } from '../log.js';
import type { LanClients } from './lan-clients.js';
import { reportTopic } from './lan-reports.js';

export interface AuthorizeSubscribeOptions {
  clients: LanClients;
  /** The bridged printers' serials. */
  serials: () => Iterable<string>;
  log: Logger;
}

/**
 * LAN clients may subscribe to Moat's own topics and to printer reports, nothing else: above all not to
 * request topics, so a command reaches nobody but the decision that forwards it. A refusal is SUBACK 128.
 */
export function authorizeSubscribeHook({
  clients,
  serials,
  log,
}: AuthorizeSubscribeOptions): NonNullable<AedesOptions['authorizeSubscribe']> {
  return (client, subscription, done) => {
    const topic = subscription.topic;
    const allowed =
      topic.startsWith('moat/') ||
      topic === 'device/+/report' ||
      [...serials()].some((serial) => topic === reportTopic(serial));
    if (!allowed) {
      log.info({ address: clients.addressOf(client), topic }, 'LAN subscription refused');
      done(null, null);
      return;
    }
    done(null, subscription);
  };
}
