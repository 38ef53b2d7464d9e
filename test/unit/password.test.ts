import assert from 'node:assert/strict';
import { scrypt, timingSafeEqual } from 'node:crypto';
import { hashPassword } from '../../services/data/src/domain/password';

const FORMAT = /^scrypt\$(\d+)\$(\d+)\$(\d+)\$([A-Za-z0-9+/]+={0,2})\$([A-Za-z0-9+/]+={0,2})$/;

function derive(password: string, salt: Buffer, length: number, N: number, r: number, p: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    scrypt(password, salt, length, { N, r, p }, (error, key) => (error ? reject(error) : resolve(key)));
  });
}

/** Recomputes the key from the stored salt and parameters, as a verifier would. */
async function verify(password: string, stored: string): Promise<boolean> {
  const match = FORMAT.exec(stored);
  assert.ok(match, `unexpected hash format: ${stored}`);
  const [, N, r, p, salt, key] = match;
  const expected = Buffer.from(key!, 'base64');
  const actual = await derive(password, Buffer.from(salt!, 'base64'), expected.length, Number(N), Number(r), Number(p));
  return timingSafeEqual(actual, expected);
}

describe('password hashes', () => {
  const PASSWORD = 'correct horse battery staple';

  it('when a password is hashed, then the result is scrypt$N$r$p$salt$key with a strong salt and key', async () => {
    const stored = await hashPassword(PASSWORD);

    const match = FORMAT.exec(stored);
    assert.ok(match, stored);
    const [, N, r, p, salt, key] = match;
    assert.ok(Number(N) >= 16_384 && Number.isInteger(Math.log2(Number(N))), `N=${N}`);
    assert.ok(Number(r) >= 8 && Number(p) >= 1, `r=${r} p=${p}`);
    assert.ok(Buffer.from(salt!, 'base64').length >= 16, 'salt of at least 16 bytes');
    assert.ok(Buffer.from(key!, 'base64').length >= 32, 'key of at least 32 bytes');
    assert.ok(!stored.includes(PASSWORD));
  });

  it('when the key is recomputed from the stored salt and parameters, then the right password matches', async () => {
    const stored = await hashPassword(PASSWORD);

    assert.equal(await verify(PASSWORD, stored), true);
    assert.equal(await verify(`${PASSWORD}!`, stored), false);
  });

  it('when the same password is hashed twice, then the salts and keys differ', async () => {
    const [first, second] = await Promise.all([hashPassword(PASSWORD), hashPassword(PASSWORD)]);

    assert.notEqual(first.split('$')[4], second.split('$')[4]);
    assert.notEqual(first.split('$')[5], second.split('$')[5]);
  });
});
