import { createCipheriv, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ArtifactCipher, masterKeyId } from './artifact-cipher.js';

const master = randomBytes(32);
const cipher = new ArtifactCipher(master);
const plain = Buffer.from('patient rows and model weights '.repeat(20));

/**
 * A sealed object built by hand the way `begin()` builds one, except that the wrapped data key's
 * GCM tag is cut to `wrapTagBytes` bytes: what a forger with a short tag to guess would write.
 */
function sealWithWrapTag(wrapTagBytes: number): Buffer {
  const dataKey = randomBytes(32);
  const wrapIv = randomBytes(12);
  const wrapper = createCipheriv('aes-256-gcm', master, wrapIv).setAAD(Buffer.from('galen-data-key'));
  const wrappedKey = Buffer.concat([wrapper.update(dataKey), wrapper.final()]);
  const tag = wrapper.getAuthTag().subarray(0, wrapTagBytes);
  const iv = randomBytes(12);
  const json = Buffer.from(
    JSON.stringify({
      v: 1,
      alg: 'AES-256-GCM',
      kid: masterKeyId(master),
      wrapped: Buffer.concat([wrapIv, wrappedKey, tag]).toString('base64'),
      iv: iv.toString('base64'),
    }),
  );
  const length = Buffer.alloc(4);
  length.writeUInt32LE(json.length);
  const head = Buffer.concat([Buffer.from('GALENC01'), length, json]);
  const content = createCipheriv('aes-256-gcm', dataKey, iv).setAAD(head);
  return Buffer.concat([head, content.update(plain), content.final(), content.getAuthTag()]);
}

describe('ArtifactCipher', () => {
  it('opens what it sealed, and only with the right key', () => {
    const sealed = cipher.seal(plain);
    expect(ArtifactCipher.isSealed(sealed)).toBe(true);
    expect(sealed.includes(plain.subarray(0, 20))).toBe(false);
    expect(cipher.open(sealed, 'object').equals(plain)).toBe(true);
    expect(() => new ArtifactCipher(randomBytes(32)).open(sealed, 'object')).toThrow(
      /object cannot be decrypted: it was sealed with master key [0-9a-f]{16}, which is not configured/,
    );
  });

  it('refuses a flipped byte anywhere and an object cut short', () => {
    const sealed = cipher.seal(plain);
    for (const at of [20, sealed.length - 40, sealed.length - 1]) {
      const flipped = Buffer.from(sealed);
      flipped[at]! ^= 0x01;
      expect(() => cipher.open(flipped, 'object')).toThrow(/cannot be decrypted/);
    }
    expect(() => cipher.open(sealed.subarray(0, sealed.length - 4), 'object')).toThrow(
      /cannot be decrypted: authentication failed/,
    );
  });

  it('requires the full 16-byte GCM tag on the wrapped data key', () => {
    expect(cipher.open(sealWithWrapTag(16), 'object').equals(plain)).toBe(true); // the hand-built layout is right
    for (const short of [4, 8, 12, 15]) {
      expect(() => cipher.open(sealWithWrapTag(short), 'object'), `a ${short}-byte tag`).toThrow(
        /object cannot be decrypted/,
      );
    }
  });
});
