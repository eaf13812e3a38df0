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

/** Checks the name a client asked to upload to; returns it unchanged when it is allowed. */
export function checkUploadName(name: string, policy: UploadPolicy): string {
  checkPathCharacters(name);
  if (name.length === 0) throw new FtpRefusal(501, 'File name missing');
  if (name.startsWith('/') || name.startsWith('\\') || /^[a-z]:/i.test(name))
    throw new FtpRefusal(553, 'File name refused: absolute paths are not allowed');
  if (name.includes('\\')) throw new FtpRefusal(553, 'File name refused: backslashes are not allowed');
  if (percentEncoding.test(name)) throw new FtpRefusal(553, 'File name refused: percent-encoded characters');
  const segments = name.split('/');
  if (segments.some((segment) => segment === '..' || segment === '.' || segment === ''))
    throw new FtpRefusal(553, 'File name refused: path traversal');
  const base = segments[segments.length - 1] as string;
  if (base.startsWith('.')) throw new FtpRefusal(553, 'File name refused: hidden names are not allowed');
  const lower = base.toLowerCase();
  if (!policy.allowedExtensions.some((extension) => lower.endsWith(extension) && lower.length > extension.length))
    throw new FtpRefusal(553, `File type refused: allowed are ${policy.allowedExtensions.join(', ')}`);
  return name;
}
