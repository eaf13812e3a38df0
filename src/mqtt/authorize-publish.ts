import type { AedesOptions } from 'aedes';
import type { PublishedCommand } from './command-actions.js';
import { type CommandRules, decide } from './command-decision.js';
import { parseCommand } from './command-policy.js';
import type { LanClients } from './lan-clients.js';
import type { PrintGate } from './print-gate.js';
import type { PrinterLink } from './printer-link.js';

export interface AuthorizePublishOptions {
  clients: LanClients;
  links: ReadonlyMap<string, PrinterLink>;
  /** The role rules, read at each command. */
  rules: () => CommandRules;
  /** Which drain a print command would wait for. */
  gate: Pick<PrintGate, 'awaiting'>;
  /** Carries the decision out; called once aedes has been answered. */
  act: (command: PublishedCommand) => void;
}

const requestTopicPattern = /^device\/([A-Za-z0-9-]{1,32})\/request$/;

/**
 * A LAN client may publish only commands, on a configured printer's request topic; anything else (reports and
 * availability come only from Moat itself) is refused and the client dropped. A command is decided here and
 * acted on after aedes has its answer: this hook only decides.
 */
export function authorizePublishHook(options: AuthorizePublishOptions): NonNullable<AedesOptions['authorizePublish']> {
  const { clients, links } = options;
  return (client, packet, done) => {
    const record = client ? clients.of(client) : undefined;
    const session = record?.session;
    const match = requestTopicPattern.exec(packet.topic);
    const link = match ? links.get(match[1] as string) : undefined;
    if (!client || !record || !session || !link) {
      done(new Error(`publishing to ${packet.topic} is not allowed`));
      return;
    }
    // Nothing on the LAN may subscribe to request topics, so the broker delivers this to nobody:
    // what reaches the printer is only what the decision forwards.
    packet.retain = false;
    const payload = packet.payload as Buffer;
    const command = parseCommand(payload);
    const decision = decide(
      { role: session.role, withinRate: session.publishes.take() },
      {
        online: link.online,
        fullState: link.cache.complete,
        ...(command.name === 'print.project_file' && { awaitingUpload: options.gate.awaiting(link.serial, payload) }),
      },
      command,
      options.rules(),
    );
    done(null);
    options.act({
      client,
      session,
      address: record.address,
      link,
      payload,
      qos: packet.qos,
      name: command.name,
      decision,
    });
  };
}
