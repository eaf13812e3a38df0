import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FtpRefusal, uploadPath } from './upload-policy.js';

const policy = {
  allowedExtensions: ['.3mf', '.gcode', '.gcode.3mf'],
  allowedNames: ['verify_job'],
  maxUploadBytes: 1000,
};

function refusal(name: string, cwd = '/', withPolicy = policy): FtpRefusal {
  try {
    uploadPath(name, cwd, withPolicy);
  } catch (error) {
    assert.ok(error instanceof FtpRefusal);
    return error;
  }
  assert.fail(`${JSON.stringify(name)} was accepted`);
}

describe('upload policy: where an accepted name lands', () => {
  it('accepts plain print files, also in a subdirectory, as paths from the working directory', () => {
    for (const [name, path] of [
      ['model.3mf', '/model.3mf'],
      ['Plate 1.gcode.3mf', '/Plate 1.gcode.3mf'],
      ['cache/part.GCODE', '/cache/part.GCODE'],
      ['a..b.3mf', '/a..b.3mf'],
    ])
      assert.equal(uploadPath(name as string, '/', policy), path);
    assert.equal(uploadPath('x.3mf', '/cache', policy), '/cache/x.3mf');
  });

  it('takes absolute names, as the slicers send them, as paths inside the storage', () => {
    assert.equal(uploadPath('/x.gcode.3mf', '/', policy), '/x.gcode.3mf');
    assert.equal(uploadPath('/cache/x.3mf', '/', policy), '/cache/x.3mf');
    // From another directory an absolute name still means the same file, not one under the directory.
    assert.equal(uploadPath('/x.gcode.3mf', '/cache', policy), '/x.gcode.3mf');
    assert.equal(uploadPath('/verify_job', '/model', policy), '/verify_job');
  });

  it('allows the exact names of the policy at the root only, whatever their extension', () => {
    assert.equal(uploadPath('verify_job', '/', policy), '/verify_job');
    assert.equal(uploadPath('/verify_job', '/', policy), '/verify_job');
    for (const [name, cwd] of [
      ['verify_job', '/cache'],
      ['/cache/verify_job', '/'],
      ['cache/verify_job', '/'],
      ['verify_job2', '/'],
      ['Verify_Job', '/'],
      ['verify_job.sh', '/'],
    ])
      assert.equal(refusal(name as string, cwd).code, 553, `${name} in ${cwd}`);
    assert.equal(refusal('verify_job', '/', { ...policy, allowedNames: [] }).code, 553);
  });
});

describe('upload policy: what is refused', () => {
  it('refuses climbing out, relative or absolute', () => {
    for (const name of ['../x.3mf', 'a/../../x.3mf', '/../x.3mf', '/cache/../../x.3mf', '..', '/..', '/../verify_job'])
      assert.match(refusal(name).message, /traversal/, name);
    assert.match(refusal('../x.3mf', '/cache').message, /traversal/);
  });

  it('refuses empty and dot segments', () => {
    for (const name of ['/', '//x.3mf', 'a//x.3mf', './x.3mf', '/./x.3mf', 'cache/', '/cache/'])
      assert.equal(refusal(name).code, 553, name);
    assert.equal(refusal('').code, 501);
  });

  it('refuses control characters and NUL', () => {
    for (const name of [
      'x.3mf\u0000.txt',
      'x\r\nDELE y.3mf',
      '/x\n.3mf',
      'x\u007f.3mf',
      'x\u0085.3mf',
      '/verify_job\r',
    ])
      assert.match(refusal(name).message, /control characters/, JSON.stringify(name));
  });

  it('refuses percent-encoding tricks', () => {
    for (const name of [
      '%2e%2e/x.3mf',
      '%2E%2E%2Fx.3mf',
      '/%2e%2e/x.3mf',
      'x%00.3mf',
      '%2fetc%2fpasswd.3mf',
      'a%5cb.3mf',
    ])
      assert.match(refusal(name).message, /percent-encoded/, name);
  });

  it('refuses backslashes and drive letters', () => {
    for (const name of ['..\\x.3mf', '\\x.3mf', 'cache\\x.3mf', '/cache\\..\\x.3mf'])
      assert.match(refusal(name).message, /backslashes/, name);
    for (const name of ['C:x.3mf', 'c:/x.3mf', 'D:verify_job'])
      assert.match(refusal(name).message, /drive letters/, name);
  });

  it('refuses other extensions and hidden names', () => {
    for (const name of ['x.stl', 'x.3mf.sh', '.3mf', '.hidden.3mf', 'x', '/x', '/.verify_job'])
      assert.equal(refusal(name).code, 553, name);
  });
});
