import { createWriteStream, mkdirSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { type Request, Router } from 'express';
import { moatVersion } from '../paths.js';
import type { ServiceContext } from '../service-context.js';
import { BundleRefused, checkBundle, installBundle, type RaucOptions, systemState } from '../update/rauc.js';
import type { UpdateJob, UpdateStatus } from './api-types.js';
import { UserError } from './http.js';

/**
 * The setup page's update API: upload a bundle (checked by RAUC before anything else), install it into the
 * other slot, follow the progress, see both slots' versions. One update at a time; the bundle is kept only
 * between its check and its install.
 */

export interface UpdateRouteOptions {
  rauc: RaucOptions;
  /** Where the uploaded bundle waits for its install (the data partition on the appliance). */
  dir: string;
  maxBundleBytes: number;
}

/** MOAT_UPDATE_MAX_MIB caps an upload (default 1024 MiB: a Moat bundle is a few hundred MiB). */
export function updateRouteOptions(ctx: ServiceContext, rauc: RaucOptions, env = process.env): UpdateRouteOptions {
  const mib = Number(env.MOAT_UPDATE_MAX_MIB ?? 1024);
  return {
    rauc,
    dir: join(ctx.paths.root, 'update'),
    maxBundleBytes: (Number.isFinite(mib) && mib > 0 ? mib : 1024) * 1024 * 1024,
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

export function updateRoutes(ctx: ServiceContext, options: UpdateRouteOptions): Router {
  const router = Router();
  const pending = join(options.dir, 'pending.raucb');
  const upload = join(options.dir, 'upload.part');
  let job: UpdateJob = { state: 'idle', percent: 0, message: '' };
  const limitMiB = Math.round(options.maxBundleBytes / 1024 / 1024);

  router.get('/update', async (_req, res) => {
    const status: UpdateStatus = { running: moatVersion(), job, maxBundleBytes: options.maxBundleBytes };
    try {
      const system = await systemState(options.rauc);
      Object.assign(status, { booted: system.booted, slots: system.slots });
    } catch (error) {
      status.unavailable = `Updates are not available on this system: ${(error as Error).message}.`;
    }
    res.json(status);
  });

  router.post('/update/bundle', async (req, res) => {
    if (job.state === 'installing') throw new UserError(409, 'An update is being installed; wait until it ends.');
    if (!req.is('application/octet-stream'))
      throw new UserError(415, 'Send the bundle file itself (application/octet-stream).');
    const declared = Number(req.headers['content-length'] ?? Number.NaN);
    if (declared > options.maxBundleBytes) {
      // Refused before reading: the connection closes so the client stops sending.
      res.setHeader('Connection', 'close');
      throw new UserError(413, `The bundle is larger than ${limitMiB} MiB; that is not a Moat update.`);
    }
    rmSync(pending, { force: true });
    job = { state: 'idle', percent: 0, message: '' };
    mkdirSync(options.dir, { recursive: true, mode: 0o700 });
    try {
      await receive(req, upload, options.maxBundleBytes);
    } catch (error) {
      rmSync(upload, { force: true });
      if (error instanceof TooLarge) {
        res.setHeader('Connection', 'close');
        throw new UserError(413, `The bundle is larger than ${limitMiB} MiB; that is not a Moat update.`);
      }
      throw new UserError(400, 'The upload broke off; try again.');
    }
    try {
      const bundle = await checkBundle(options.rauc, upload);
      renameSync(upload, pending);
      job = { state: 'checked', bundle, percent: 0, message: 'Signature verified; ready to install.' };
      ctx.logger.info({ version: bundle.version, signer: bundle.signer }, 'update bundle uploaded and verified');
      res.json({ bundle });
    } catch (error) {
      rmSync(upload, { force: true });
      if (error instanceof BundleRefused) {
        ctx.logger.warn({ reason: error.message }, 'update bundle refused');
        throw new UserError(400, error.message);
      }
      throw error;
    }
  });

  router.post('/update/install', (_req, res) => {
    if (job.state === 'installing') throw new UserError(409, 'An update is being installed already.');
    if (job.state !== 'checked' || !job.bundle) throw new UserError(409, 'Upload a bundle first.');
    const bundle = job.bundle;
    job = { state: 'installing', bundle, percent: 0, message: 'Starting' };
    ctx.logger.info({ version: bundle.version }, 'update install started');
    installBundle(options.rauc, pending, ({ percent, message }) => {
      job = { ...job, percent, message };
    })
      .then(
        () => {
          job = {
            state: 'installed',
            bundle,
            percent: 100,
            message: `Version ${bundle.version} is installed in the other slot; it starts at the next restart.`,
          };
          ctx.logger.info({ version: bundle.version }, 'update installed');
        },
        (error: Error) => {
          job = { state: 'failed', bundle, percent: job.percent, message: error.message };
          ctx.logger.warn({ reason: error.message }, 'update install failed');
        },
      )
      .finally(() => rmSync(pending, { force: true }));
    res.status(202).json({ job });
  });

  return router;
}
