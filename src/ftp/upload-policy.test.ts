import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { checkUploadName, FtpRefusal } from './upload-policy.js';

const policy = { allowedExtensions: ['.3mf', '.gcode', '.gcode.3mf'], maxUploadBytes: 1000 };

function refusal(name: string): FtpRefusal {
  try {
    checkUploadName(name, policy);
  } catch (error) {
    assert.ok(error instanceof FtpRefusal);
    return error;
  }
  assert.fail(`${JSON.stringify(name)} was accepted`);
}

describe('upload policy', () => {
  it('accepts plain print files, also in a subdirectory', () => {
    for (const name of ['model.3mf', 'Plate 1.gcode.3mf', 'cache/part.GCODE', 'a..b.3mf'])
      assert.equal(checkUploadName(name, policy), name);
  });

  it('refuses traversal, absolute, encoded, control-character and NUL names', () => {
    for (const name of [
      '../x.3mf',
      'a/../../x.3mf',
      '/etc/passwd',
      '/x.3mf',
      'C:x.3mf',
      '..\\x.3mf',
      '%2e%2e/x.3mf',
      '%2E%2E%2Fx.3mf',
      'x.3mf\u0000.txt',
      'x\r\nDELE y.3mf',
      'a//x.3mf',
      './x.3mf',
    ])
      assert.equal(refusal(name).code, 553, name);
  });

  it('refuses other extensions and hidden names', () => {
    for (const name of ['x.stl', 'x.3mf.sh', '.3mf', '.hidden.3mf', 'x']) assert.equal(refusal(name).code, 553, name);
  });
});
