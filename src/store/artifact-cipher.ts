/**
 * Encryption at rest for stored objects (model files, datasets, sealed values): AES-256-GCM with
 * a fresh 256-bit data key per object, the data key wrapped (AES-256-GCM) by the master key. The
 * header (which master key, the wrapped data key, the IV) is authenticated with the content, so
 * a flipped byte anywhere is refused rather than decrypted to something else.
 *
 * Layout: `GALENC01` | u32 LE header length | header JSON | ciphertext | 16-byte tag.
 */
import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import { GalenError } from '../core/index.js';

const MAGIC = Buffer.from('GALENC01');
const WRAP_AAD = Buffer.from('galen-data-key');
/** Every GCM tag is 16 bytes. Fixed on decryption, else Node accepts a tag cut to 4 bytes. */
const TAG_BYTES = 16;
/** iv (12) | wrapped data key (32) | tag (16). */
const WRAPPED_BYTES = 12 + 32 + TAG_BYTES;

interface Header {
  v: 1;
  alg: 'AES-256-GCM';
  /** Which master key wrapped the data key (its sha256, first 16 hex digits). */
  kid: string;
  /** iv (12) | wrapped key (32) | tag (16), base64. */
  wrapped: string;
  /** The content's iv, base64. */
  iv: string;
}

/** A master key's id: the first 16 hex digits of its sha256 (the key itself never leaves memory). */
export const masterKeyId = (key: Buffer): string =>
  createHash('sha256').update(key).digest('hex').slice(0, 16);

export class ArtifactCipher {
  private readonly keys = new Map<string, Buffer>();
  readonly currentId: string;

  /** `current` encrypts; it and `previous` decrypt (during a rotation). Keys are 32 bytes. */
  constructor(
    private readonly current: Buffer,
    previous: readonly Buffer[] = [],
  ) {
    for (const key of [current, ...previous]) {
      if (key.length !== 32)
        throw new GalenError('invalid_input', 'a master key is 32 bytes (base64 of 32 random bytes)');
      this.keys.set(masterKeyId(key), key);
    }
    this.currentId = masterKeyId(current);
  }

  /** Whether `bytes` are an encrypted object (else they were stored in the clear). */
  static isSealed(bytes: Uint8Array): boolean {
    return bytes.length >= MAGIC.length && Buffer.from(bytes.subarray(0, MAGIC.length)).equals(MAGIC);
  }

  /** Starts encrypting one object: write `head`, then each `update(chunk)`, then `final()`. */
  begin(): { head: Buffer; update(chunk: Uint8Array): Buffer; final(): Buffer } {
    const dataKey = randomBytes(32);
    const wrapIv = randomBytes(12);
    const wrapper = createCipheriv('aes-256-gcm', this.current, wrapIv).setAAD(WRAP_AAD);
    const wrapped = Buffer.concat([wrapIv, wrapper.update(dataKey), wrapper.final(), wrapper.getAuthTag()]);
    const iv = randomBytes(12);
    const header: Header = {
      v: 1,
      alg: 'AES-256-GCM',
      kid: this.currentId,
      wrapped: wrapped.toString('base64'),
      iv: iv.toString('base64'),
    };
    const json = Buffer.from(JSON.stringify(header));
    const length = Buffer.alloc(4);
    length.writeUInt32LE(json.length);
    const head = Buffer.concat([MAGIC, length, json]);
    const cipher = createCipheriv('aes-256-gcm', dataKey, iv).setAAD(head);
    return {
      head,
      update: (chunk) => cipher.update(chunk),
      final: () => Buffer.concat([cipher.final(), cipher.getAuthTag()]),
    };
  }

  seal(plain: Uint8Array): Buffer {
    const run = this.begin();
    return Buffer.concat([run.head, run.update(plain), run.final()]);
  }

  /** The header of a sealed object and where it ends, or why it cannot be read. */
  private static readHeader(bytes: Buffer): { header: Header; headEnd: number } | string {
    if (!ArtifactCipher.isSealed(bytes) || bytes.length < MAGIC.length + 4 + TAG_BYTES)
      return 'not an encrypted object';
    const headEnd = MAGIC.length + 4 + bytes.readUInt32LE(MAGIC.length);
    if (headEnd + TAG_BYTES > bytes.length) return 'truncated';
    try {
      return {
        header: JSON.parse(bytes.subarray(MAGIC.length + 4, headEnd).toString('utf8')) as Header,
        headEnd,
      };
    } catch {
      return 'its header is damaged';
    }
  }

  /** The plaintext of a sealed object; `internal` when it fails authentication. */
  open(sealed: Uint8Array, what: string): Buffer {
    const bytes = Buffer.from(sealed.buffer, sealed.byteOffset, sealed.byteLength);
    const refuse = (why: string): GalenError =>
      new GalenError(
        'internal',
        `${what} cannot be decrypted: ${why}; it was altered, or the master key is wrong`,
      );
    const read = ArtifactCipher.readHeader(bytes);
    if (typeof read === 'string') throw refuse(read);
    const { header, headEnd } = read;
    const master = this.keys.get(header.kid);
    if (!master) throw refuse(`it was sealed with master key ${header.kid}, which is not configured`);
    const wrapped = Buffer.from(typeof header.wrapped === 'string' ? header.wrapped : '', 'base64');
    if (wrapped.length !== WRAPPED_BYTES) throw refuse(`its wrapped data key is not ${WRAPPED_BYTES} bytes`);
    try {
      const unwrapper = createDecipheriv('aes-256-gcm', master, wrapped.subarray(0, 12), {
        authTagLength: TAG_BYTES,
      }).setAAD(WRAP_AAD);
      unwrapper.setAuthTag(wrapped.subarray(44, WRAPPED_BYTES));
      const dataKey = Buffer.concat([unwrapper.update(wrapped.subarray(12, 44)), unwrapper.final()]);
      const decipher = createDecipheriv('aes-256-gcm', dataKey, Buffer.from(header.iv, 'base64'), {
        authTagLength: TAG_BYTES,
      }).setAAD(bytes.subarray(0, headEnd));
      decipher.setAuthTag(bytes.subarray(bytes.length - TAG_BYTES));
      return Buffer.concat([
        decipher.update(bytes.subarray(headEnd, bytes.length - TAG_BYTES)),
        decipher.final(),
      ]);
    } catch {
      throw refuse('authentication failed');
    }
  }

  /** Which master key sealed an object (undefined: stored in the clear, or unreadable). */
  static keyIdOf(sealed: Uint8Array): string | undefined {
    const read = ArtifactCipher.readHeader(Buffer.from(sealed.buffer, sealed.byteOffset, sealed.byteLength));
    return typeof read === 'string' ? undefined : read.header.kid;
  }
}

/** A JSON value as stored: itself, or `{"sealed": base64}` when a cipher is given. */
export function sealJson(cipher: ArtifactCipher | undefined, value: unknown): Record<string, unknown> {
  if (!cipher) return value as Record<string, unknown>;
  return { sealed: cipher.seal(Buffer.from(JSON.stringify(value))).toString('base64') };
}

/** The value `sealJson` stored; refuses a sealed value without the key, and any tampered one. */
export function openJson(cipher: ArtifactCipher | undefined, stored: unknown, what: string): unknown {
  const sealed = (stored as { sealed?: unknown } | null)?.sealed;
  if (typeof sealed !== 'string') return stored;
  if (!cipher) throw new GalenError('internal', `${what} is encrypted, and no master key is configured`);
  return JSON.parse(cipher.open(Buffer.from(sealed, 'base64'), what).toString('utf8')) as unknown;
}
