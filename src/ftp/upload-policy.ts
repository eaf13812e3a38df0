import { posix } from 'node:path';

/**
 * What may be uploaded to a printer: names that cannot climb out of the printer's storage or smuggle
 * anything into its FTP commands, with an allowed extension. Checked before a byte reaches the printer.
 */
export class FtpRefusal extends Error {
  constructor(
    /** The FTP reply code to send. */
    readonly code: number,
    message: string,
  ) {
    super(message);
  }
}

export interface UploadPolicy {
  allowedExtensions: string[];
  /**
   * Exact names allowed at the root of the printer's storage whatever their extension: the slicers check an
   * access code by uploading `verify_job` there.
   */
  allowedNames: string[];
  maxUploadBytes: number;
}

// C0 controls, DEL and C1 controls: a CR or LF would inject a command into the printer connection.
function hasControlCharacter(text: string): boolean {
  for (const char of text) {
    const code = char.codePointAt(0) as number;
    if (code < 0x20 || (code >= 0x7f && code <= 0x9f)) return true;
  }
  return false;
}
const percentEncoding = /%[0-9a-f]{2}/i;

/** Any path Moat forwards to the printer: refuses what would corrupt the printer's command stream. */
export function checkPathCharacters(path: string): void {
  if (hasControlCharacter(path)) throw new FtpRefusal(553, 'File name refused: control characters or NUL');
  if (Buffer.byteLength(path) > 1024) throw new FtpRefusal(553, 'File name refused: too long');
}

/**
 * Checks the name a client asked to upload to and returns the absolute printer path it stands for. The
 * slicers name files absolutely (`/verify_job`, `/x.gcode.3mf`): an absolute name is a path inside the
 * printer's storage, the same as the relative name from the root; a relative one is taken from `cwd` (an
 * absolute, normalised directory). Nothing may climb out, hide, or use another system's path syntax.
 */
export function uploadPath(name: string, cwd: string, policy: UploadPolicy): string {
  checkPathCharacters(name);
  if (name.length === 0) throw new FtpRefusal(501, 'File name missing');
  if (name.includes('\\')) throw new FtpRefusal(553, 'File name refused: backslashes are not allowed');
  if (/^[a-z]:/i.test(name)) throw new FtpRefusal(553, 'File name refused: drive letters are not allowed');
  if (percentEncoding.test(name)) throw new FtpRefusal(553, 'File name refused: percent-encoded characters');
  const absolute = name.startsWith('/');
  const segments = (absolute ? name.slice(1) : name).split('/');
  if (segments.some((segment) => segment === '..' || segment === '.' || segment === ''))
    throw new FtpRefusal(553, 'File name refused: path traversal or empty path segment');
  const base = segments[segments.length - 1] as string;
  if (base.startsWith('.')) throw new FtpRefusal(553, 'File name refused: hidden names are not allowed');
  const path = absolute ? name : posix.join(cwd, name);
  if (posix.dirname(path) === '/' && policy.allowedNames.includes(base)) return path;
  const lower = base.toLowerCase();
  if (!policy.allowedExtensions.some((extension) => lower.endsWith(extension) && lower.length > extension.length))
    throw new FtpRefusal(553, `File type refused: allowed are ${policy.allowedExtensions.join(', ')}`);
  return path;
}
