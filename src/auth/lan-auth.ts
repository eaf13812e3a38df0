import type { AccessCodeEntry } from '../config/schema.js';
import type { AccessCodeVerifier } from './access-codes.js';
import type { LoginThrottle } from './login-throttle.js';

/**
 * LAN login (MQTT and FTPS): user name `bblp` and one of Moat's access codes, behind the login throttle
 * the whole service shares.
 */
export class LanAuthenticator {
  constructor(
    private readonly verifier: AccessCodeVerifier,
    private readonly throttle: LoginThrottle,
  ) {}

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
        return entry !== undefined;
      },
      gone,
    );
    return ok ? entry : undefined;
  }
}
