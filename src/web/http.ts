import type { NextFunction, Request, Response } from 'express';
import { ConfigError, type Schema } from '../config/validate.js';
import type { Logger } from '../log.js';

/** A refusal the owner should read: status code plus a sentence, and the form field it concerns. */
export class UserError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly field?: string,
  ) {
    super(message);
    this.name = 'UserError';
  }
}

/**
 * Validates a request body with the configuration's schema language. A field's own explanation (from
 * `help`, in the owner's words) wins over the schema's technical one.
 */
export function validate<T>(schema: Schema<T>, body: unknown, help: Record<string, string> = {}): T {
  try {
    return schema(body ?? {}, '');
  } catch (error) {
    if (error instanceof ConfigError) {
      const field = error.field.split(/[.[]/)[0] ?? '';
      throw new UserError(400, help[field] ?? `${error.field}: ${error.problem}`, field || undefined);
    }
    throw error;
  }
}

/** The last handler: owner-readable errors as JSON; anything unexpected is logged, never echoed. */
export function errorHandler(logger: Logger) {
  return (error: unknown, req: Request, res: Response, _next: NextFunction) => {
    if (error instanceof UserError) {
      res.status(error.status).json({ error: error.message, ...(error.field && { field: error.field }) });
      return;
    }
    const status = (error as { status?: number; type?: string }).status;
    if (status === 400 || status === 413) {
      // body-parser: malformed JSON or too large a body.
      res.status(status).json({ error: status === 413 ? 'The request is too large.' : 'The request is malformed.' });
      return;
    }
    // Only the path: query strings and bodies may hold secrets.
    logger.error({ err: error, method: req.method, path: req.path }, 'setup page request failed');
    res.status(500).json({ error: 'Something went wrong inside Moat; the details are in its log.' });
  };
}
