import type { Client } from 'aedes';
import type { AuditEvent } from '../events.js';
import type { Logger } from '../log.js';
import type { CommandDecision } from './command-decision.js';
import type { Command } from './command-policy.js';
import type { CommandResults } from './command-results.js';
import type { LanSession } from './lan-clients.js';
import type { LanReports } from './lan-reports.js';
import type { PrintGate } from './print-gate.js';
import type { PrinterLink } from './printer-link.js';

/** A command a LAN client published, once aedes has been told the publish is authorized. */
export interface PublishedCommand {
  client: Client;
  session: LanSession;
  address: string;
  link: PrinterLink;
  /** As published: what reaches the printer is these bytes. */
  payload: Buffer;
  qos: number;
  /** `print.pause`, … (`malformed` when it names none). */
  name: string;
  decision: CommandDecision;
}

export interface CommandActionOptions {
  audit: (event: AuditEvent) => void;
  results: CommandResults;
  reports: LanReports;
  log: Logger;
  gate: Pick<PrintGate, 'hold'>;
  /** The LAN clients, for a report every subscriber of a printer must see. */
  subscribers: () => Iterable<Client>;
}

type AuditBase = Omit<AuditEvent, 'outcome'>;

/** Carries out a command's decision: every command ends in the audit log, a forwarded one once its publish ended. */
export function actOnCommand(options: CommandActionOptions, published: PublishedCommand): void {
  const { decision, client, link } = published;
  const base: AuditBase = {
    at: new Date().toISOString(),
    serial: link.serial,
    label: published.session.label,
    role: published.session.role,
    address: published.address,
    command: published.name,
  };
  switch (decision.action) {
    case 'refuse':
      refuse(options, base, decision.reason);
      return;
    case 'answer':
      refuse(options, base, decision.reason);
      // Moat's reply, in the printer's shape, to the asking client only.
      options.reports.sendIfSubscribed(client, link.serial, Buffer.from(JSON.stringify(decision.reply)));
      return;
    case 'answer-from-cache': {
      // The printer is asked at most once per interval however many clients ask.
      const sentUpstream = link.requestPushall();
      if (decision.fullState) options.reports.sendFullState(client, link, decision.command.sequenceId);
      options.audit({ ...base, outcome: 'allowed', ...(!sentUpstream && { result: 'answered from cache' }) });
      return;
    }
    case 'hold':
      hold(options, published, base, decision.command, decision.awaiting);
      return;
    case 'forward':
      forward(options, published, base, decision.command);
  }
}

/**
 * A print held by the print gate until its file is on the printer. Dropped, it is reported on the printer's
 * report topic as the printer reports a failed `project_file`, so the slicer and Home Assistant show why.
 */
function hold(
  options: CommandActionOptions,
  published: PublishedCommand,
  base: AuditBase,
  command: Command,
  awaiting: string,
): void {
  const { audit, log, gate, reports, subscribers } = options;
  const reason = `waiting for ${awaiting} to reach the printer`;
  log.info({ ...base }, `print command held: ${reason}`);
  audit({ ...base, outcome: 'held', reason });
  gate.hold(published.link.serial, published.payload, {
    forward: () => forward(options, published, { ...base, at: new Date().toISOString() }, command),
    drop: (why) => {
      log.warn({ ...base }, `held print command dropped: ${why}`);
      audit({ ...base, at: new Date().toISOString(), outcome: 'dropped', reason: why });
      const failure = {
        [command.kind]: {
          command: command.command,
          sequence_id: command.sequenceId ?? '0',
          result: 'fail',
          reason: `Moat did not start this print: ${why}`,
        },
      };
      reports.fanOut(subscribers(), published.link.serial, Buffer.from(JSON.stringify(failure)));
    },
  });
}

function refuse({ log, audit }: CommandActionOptions, base: AuditBase, reason: string): void {
  log.info({ ...base }, `command refused: ${reason}`);
  audit({ ...base, outcome: 'refused', reason });
}

/**
 * Audited allowed only once written (QoS 0) or acknowledged by the printer (QoS 1): the connection can close
 * first, and then the command is audited dropped with the reason.
 */
function forward(
  { results, log }: CommandActionOptions,
  { link, payload, qos }: PublishedCommand,
  base: AuditBase,
  command: Command,
): void {
  const sent = results.expect({ ...base, outcome: 'allowed' }, command.kind, command.command, command.sequenceId);
  link.upstream.publish(payload, qos > 0 ? 1 : 0, (failure) => {
    if (failure !== undefined) log.warn({ ...base }, `command dropped: ${failure}`);
    sent(failure);
  });
}
