import { createWriteStream, mkdirSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { type Request, type Response, Router } from 'express';
import { moatVersion } from '../paths.js';
import type { ServiceContext } from '../service-context.js';
import { BundleRefused, checkBundle, installBundle, type RaucOptions, systemState } from '../update/rauc.js';
import { requestRestart, restartRequestFile } from '../update/restart.js';
import { downgradeRefusal } from '../update/versions.js';
import type { UpdateBundle, UpdateJob, UpdateStatus } from './api-types.js';
import { UserError } from './http.js';

/**
 * The setup page's update API: upload a bundle (checked by RAUC before anything else), install it into the
 * other slot, follow the progress, see both slots' versions, restart into the new one. One update at a time; the bundle is kept only
 * between its check and its install.
 */

export interface UpdateRouteOptions {
  rauc: RaucOptions;
  /** Where the uploaded bundle waits for its install (the data partition on the appliance). */
  dir: string;
  maxBundleBytes: number;
  /** Where a restart request goes (restart.ts); absent where nothing would act on it. */
  restartFile?: string;
}

/** MOAT_UPDATE_MAX_MIB caps an upload (default 1024 MiB: a Moat bundle is a few hundred MiB). */
export function updateRouteOptions(ctx: ServiceContext, rauc: RaucOptions, env = process.env): UpdateRouteOptions {
  const mib = Number(env.MOAT_UPDATE_MAX_MIB ?? 1024);
  return {
    rauc,
    dir: join(ctx.paths.root, 'update'),
    maxBundleBytes: (Number.isFinite(mib) && mib > 0 ? mib : 1024) * 1024 * 1024,
    restartFile: restartRequestFile(env),
  };
}

class TooLarge extends Error {}

/**
 * Streams the request body to `file`, stopping at `limit` bytes. Past the limit the request is only paused,
 * not destroyed: destroying it closes the socket, and the owner would see a reset instead of the refusal.
 */
function receive(req: Request, file: string, limit: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const out = createWriteStream(file, { mode: 0o600 });
    let received = 0;
    let failed = false;
    const fail = (error: Error) => {
      if (failed) return;
      failed = true;
      req.unpipe(out);
      req.pause();
      out.destroy();
      reject(error);
    };
    req.on('data', (chunk: Buffer) => {
      received += chunk.length;
      if (received > limit) fail(new TooLarge());
    });
    req.on('close', () => {
      if (!req.complete) fail(new Error('upload broke off'));
    });
    out.on('error', fail);
    out.on('finish', () => {
      if (!failed) resolve();
    });
    req.pipe(out);
  });
}

/** The one update a Moat may have under way: the uploaded bundle between its check and its install. */
class UpdateJobs {
  job: UpdateJob = { state: 'idle', percent: 0, message: '' };
  private readonly pending: string;
  private readonly upload: string;
  private readonly tooLarge: string;

  constructor(
    private readonly ctx: ServiceContext,
    private readonly options: UpdateRouteOptions,
  ) {
    this.pending = join(options.dir, 'pending.raucb');
    this.upload = join(options.dir, 'upload.part');
    this.tooLarge = `The bundle is larger than ${Math.round(options.maxBundleBytes / 1024 / 1024)} MiB; that is not a Moat update.`;
  }

  async status(): Promise<UpdateStatus> {
    const status: UpdateStatus = {
      running: moatVersion(),
      job: this.job,
      maxBundleBytes: this.options.maxBundleBytes,
      canRestart: this.options.restartFile !== undefined,
    };
    try {
      const system = await systemState(this.options.rauc);
      Object.assign(status, { booted: system.booted, slots: system.slots });
    } catch (error) {
      status.unavailable = `Updates are not available on this system: ${(error as Error).message}.`;
    }
    return status;
  }

  /** Stores the request's body, has RAUC check it, and keeps it only when accepted. */
  async receiveBundle(req: Request, res: Response, allowDowngrade: boolean): Promise<UpdateBundle> {
    if (this.job.state === 'installing') throw new UserError(409, 'An update is being installed; wait until it ends.');
    if (!req.is('application/octet-stream'))
      throw new UserError(415, 'Send the bundle file itself (application/octet-stream).');
    if (Number(req.headers['content-length'] ?? Number.NaN) > this.options.maxBundleBytes) {
      // Refused before reading: the connection closes so the client stops sending.
      res.setHeader('Connection', 'close');
      throw new UserError(413, this.tooLarge);
    }
    rmSync(this.pending, { force: true });
    this.job = { state: 'idle', percent: 0, message: '' };
    mkdirSync(this.options.dir, { recursive: true, mode: 0o700 });
    try {
      await receive(req, this.upload, this.options.maxBundleBytes);
    } catch (error) {
      rmSync(this.upload, { force: true });
      if (!(error instanceof TooLarge)) throw new UserError(400, 'The upload broke off; try again.');
      res.setHeader('Connection', 'close');
      throw new UserError(413, this.tooLarge);
    }
    try {
      const bundle = await checkBundle(this.options.rauc, this.upload);
      const older = allowDowngrade ? undefined : downgradeRefusal(bundle.version, moatVersion());
      if (older) throw new BundleRefused(`${older} Tick "Allow an older version" to install it anyway.`);
      renameSync(this.upload, this.pending);
      this.job = { state: 'checked', bundle, percent: 0, message: 'Signature verified; ready to install.' };
      this.ctx.logger.info({ version: bundle.version, signer: bundle.signer }, 'update bundle uploaded and verified');
      return bundle;
    } catch (error) {
      rmSync(this.upload, { force: true });
      if (!(error instanceof BundleRefused)) throw error;
      this.ctx.logger.warn({ reason: error.message }, 'update bundle refused');
      throw new UserError(400, error.message);
    }
  }

  /** Starts `rauc install` on the checked bundle; the job follows its progress. */
  startInstall(): void {
    if (this.job.state === 'installing') throw new UserError(409, 'An update is being installed already.');
    const bundle = this.job.bundle;
    if (this.job.state !== 'checked' || !bundle) throw new UserError(409, 'Upload a bundle first.');
    this.job = { state: 'installing', bundle, percent: 0, message: 'Starting' };
    this.ctx.logger.info({ version: bundle.version }, 'update install started');
    installBundle(this.options.rauc, this.pending, ({ percent, message }) => {
      this.job = { ...this.job, percent, message };
    })
      .then(
        () => {
          const message = `Version ${bundle.version} is installed in the other slot; it starts at the next restart.`;
          this.job = { state: 'installed', bundle, percent: 100, message };
          this.ctx.logger.info({ version: bundle.version }, 'update installed');
        },
        (error: Error) => {
          this.job = { state: 'failed', bundle, percent: this.job.percent, message: error.message };
          this.ctx.logger.warn({ reason: error.message }, 'update install failed');
        },
      )
      .finally(() => rmSync(this.pending, { force: true }));
  }

  /** Asks the system to reboot (into the new version after an install); never while RAUC is writing. */
  async restart(): Promise<string> {
    if (this.job.state === 'installing')
      throw new UserError(409, 'An update is being installed; restart once it has finished.');
    const file = this.options.restartFile;
    if (!file) throw new UserError(501, 'This Moat is not running as the appliance; restart the machine yourself.');
    await requestRestart(file, 'setup page');
    this.ctx.logger.info({ installed: this.job.bundle?.version }, 'restart asked for from the setup page');
    return this.job.state === 'installed' && this.job.bundle
      ? `Restarting into version ${this.job.bundle.version}; the setup page is back in a minute or two.`
      : 'Restarting; the setup page is back in a minute or two.';
  }
}

export function updateRoutes(ctx: ServiceContext, options: UpdateRouteOptions): Router {
  const router = Router();
  const jobs = new UpdateJobs(ctx, options);
  router.get('/update', async (_req, res) => {
    res.json(await jobs.status());
  });
  router.post('/update/bundle', async (req, res) => {
    // ?allowDowngrade=1: the owner means to install an older version (the card's checkbox).
    res.json({ bundle: await jobs.receiveBundle(req, res, req.query.allowDowngrade === '1') });
  });
  router.post('/update/install', (_req, res) => {
    jobs.startInstall();
    res.status(202).json({ job: jobs.job });
  });
  router.post('/update/restart', async (_req, res) => {
    res.status(202).json({ message: await jobs.restart() });
  });
  return router;
}
