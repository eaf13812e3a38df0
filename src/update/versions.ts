/**
 * Which of two Moat versions is newer, by Semantic Versioning's precedence (major.minor.patch, a pre-release
 * before its release, build metadata ignored: `0.2.0+n1` and `0.2.0` are the same version). Used to refuse a
 * signed but older bundle unless the owner asks for it: RAUC itself installs any bundle the keyring accepts,
 * and an old bundle is how a fixed vulnerability would come back.
 */

interface Parsed {
  core: [number, number, number];
  pre: string[];
}

const semver =
  /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-([0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?(?:\+[0-9A-Za-z.-]+)?$/;

function parse(version: string): Parsed | undefined {
  const match = semver.exec(version.trim());
  if (!match) return undefined;
  return {
    core: [Number(match[1]), Number(match[2]), Number(match[3])],
    pre: match[4] ? match[4].split('.') : [],
  };
}

function compareIdentifiers(a: string, b: string): number {
  const numericA = /^\d+$/.test(a);
  const numericB = /^\d+$/.test(b);
  if (numericA && numericB) return Math.sign(Number(a) - Number(b));
  if (numericA !== numericB) return numericA ? -1 : 1; // numbers sort before words
  return a < b ? -1 : a > b ? 1 : 0;
}

/** -1, 0 or 1 as `a` is older than, the same as or newer than `b`; undefined when either is not a version. */
export function compareVersions(a: string, b: string): -1 | 0 | 1 | undefined {
  const pa = parse(a);
  const pb = parse(b);
  if (!pa || !pb) return undefined;
  for (const [i, part] of pa.core.entries()) {
    const d = Math.sign(part - (pb.core[i] ?? 0));
    if (d !== 0) return d as -1 | 1;
  }
  // A release is newer than any of its pre-releases.
  if (pa.pre.length === 0 || pb.pre.length === 0) return Math.sign(pb.pre.length - pa.pre.length) as -1 | 0 | 1;
  for (const [i, identifier] of pa.pre.entries()) {
    const other = pb.pre[i];
    if (other === undefined) break;
    const d = compareIdentifiers(identifier, other);
    if (d !== 0) return d as -1 | 1;
  }
  return Math.sign(pa.pre.length - pb.pre.length) as -1 | 0 | 1;
}

/**
 * Why a bundle of `bundleVersion` may not replace `running` without the owner's say-so, or undefined when it
 * may: an older version, or one that cannot be compared. The caller says how to allow it (CLI flag, checkbox).
 */
export function downgradeRefusal(bundleVersion: string, running: string): string | undefined {
  const order = compareVersions(bundleVersion, running);
  if (order === undefined)
    return `The bundle's version "${bundleVersion}" cannot be compared with the running ${running}.`;
  if (order < 0) return `The bundle holds version ${bundleVersion}, older than the running ${running}.`;
  return undefined;
}
