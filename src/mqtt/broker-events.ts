import type { Aedes } from 'aedes';
import type { MoatEvents } from '../events.js';
import type { Logger } from '../log.js';
import type { LanClients } from './lan-clients.js';
import { type LanReports, reportTopic } from './lan-reports.js';
import type { PrinterLink } from './printer-link.js';
import { topicFilterMatches } from './topic-filter.js';

export interface BrokerEventOptions {
  clients: LanClients;
  links: ReadonlyMap<string, PrinterLink>;
  reports: LanReports;
  events: MoatEvents;
  log: Logger;
}

/** What the bridge does on aedes's events: full state for new subscribers, the client list, error logging. */
export function followBrokerEvents(broker: Aedes, { clients, links, reports, events, log }: BrokerEventOptions): void {
  broker.on('subscribe', (subscriptions, client) => {
    // A new subscriber gets the full state at once, from the cache, without asking the printer.
    for (const sub of subscriptions) {
      // 128: a subscription authorizeSubscribe refused.
      if ((sub.qos as number) === 128) continue;
      for (const link of links.values()) {
        if (link.cache.complete && topicFilterMatches(sub.topic, reportTopic(link.serial))) {
          reports.sendFullState(client, link);
        }
      }
    }
  });
  broker.on('client', (client) => {
    const event = clients.show(client);
    if (event) events.emit('client', event);
  });
  broker.on('clientDisconnect', (client) => {
    const event = clients.hide(client);
    if (event) events.emit('client', event);
  });
  broker.on('clientError', (client, error) => {
    log.debug({ address: clients.addressOf(client), reason: error.message }, 'LAN client error');
  });
  broker.on('connectionError', (client, error) => {
    log.debug({ address: clients.addressOf(client), reason: error.message }, 'LAN connection error');
  });
}
