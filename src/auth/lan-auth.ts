import type { AccessCodeEntry } from '../config/schema.js';
import type { AccessCodeVerifier } from './access-codes.js';
import type { LoginThrottle } from './login-throttle.js';

/**
 * LAN login (MQTT and FTPS): user name `bblp` and one of Moat's access codes, behind the login throttle
 * the whole service shares. A printer's front logs in through `forPrinter`: a code limited to other
 * printers is a wrong code there (and costs the guesser's budget like one).
 */
export class LanAuthenticator {
  constructor(
    private readonly verifier: AccessCodeVerifier,
    private readonly throttle: LoginThrottle,
    private readonly serial?: string,
  ) {}

  forPrinter(serial: string): LanAuthenticator {
    return new LanAuthenticator(this.verifier, this.throttle, serial);
  }

  private opens(entry: AccessCodeEntry | undefined): boolean {
    if (entry === undefined) return false;
    return this.serial === undefined || entry.printers === undefined || entry.printers.includes(this.serial);
  }

  async authenticate(
    address: string,
    username: string | undefined,
    password: Buffer | undefined,
    gone: () => boolean,
  ): Promise<AccessCodeEntry | undefined> {
    let entry: AccessCodeEntry | undefined;
    const ok = await this.throttle.attempt(
      address,
      async () => {
        if (username !== 'bblp' || password === undefined) return false;
        entry = await this.verifier.verify(password.toString('utf8'));
        return this.opens(entry);
      },
      gone,
    );
    return ok ? entry : undefined;
  }
}
