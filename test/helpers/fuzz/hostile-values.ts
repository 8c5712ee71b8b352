/**
 * Hostile input for the fuzz suite: JSON values of every wrong kind (as raw JSON text, so values
 * JavaScript cannot hold — `1e309`, `-0`, `__proto__` keys, 10,000 levels of nesting — reach the
 * server as a client would send them), and the mutations that put them into a well-formed body.
 */
import type { Rng } from './prng.js';

/** Raw JSON text of values that are wrong somewhere in every schema. */
const FIXED: readonly string[] = [
  'null',
  'true',
  'false',
  '0',
  '-0',
  '-1',
  '1.5',
  '1e308',
  '-1e308',
  '1e309',
  '-1e309',
  '9007199254740993',
  '4294967296',
  '-2147483649',
  '5e-324',
  '"NaN"',
  '"Infinity"',
  '"-Infinity"',
  '""',
  '" "',
  '"0x1F"',
  '"1e400"',
  '"\\u0000"',
  '"\\ud800"',
  '"\\udfff\\ud800x"',
  '"\\u202etxt.exe"',
  '"e\\u0301\\u0301\\u0301"',
  '"\\ufeffBOM"',
  '"😀👩‍⚕️"',
  '"%00%zz%"',
  '"../../../etc/passwd"',
  '"\'; DROP TABLE models; --"',
  '"Patient/../../x"',
  '[]',
  '{}',
  '[null]',
  '[[]]',
  '[{}]',
  '{"":null}',
  '{"__proto__":{"polluted":1}}',
  '{"constructor":{"prototype":{"polluted":1}}}',
];

/** One hostile JSON value as raw text: a fixed one, or a generated long, deep or wide one. */
export function hostileJson(rng: Rng): string {
  const roll = rng.int(20);
  if (roll < 14) return rng.pick(FIXED);
  if (roll === 14) return `"${'A'.repeat(rng.pick([101, 1000, 70_000]))}"`;
  if (roll === 15) {
    const depth = rng.pick([65, 1000, 10_000]);
    return '['.repeat(depth) + ']'.repeat(depth);
  }
  if (roll === 16) {
    const depth = rng.pick([65, 1000, 10_000]);
    return '{"a":'.repeat(depth) + '1' + '}'.repeat(depth);
  }
  if (roll === 17) return `[${Array.from({ length: rng.pick([1000, 50_000]) }, () => '0').join(',')}]`;
  if (roll === 18) return `[${Array.from({ length: 100 }, () => rng.pick(FIXED)).join(',')}]`;
  return `{${Array.from({ length: 50 }, (_, i) => `"k${i}":${rng.pick(FIXED)}`).join(',')}}`;
}

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** The paths to every node of a JSON tree, the root included (as `[]`). */
function paths(
  value: Json,
  at: (string | number)[] = [],
  out: (string | number)[][] = [],
): (string | number)[][] {
  out.push(at);
  if (Array.isArray(value)) value.forEach((v, i) => paths(v, [...at, i], out));
  else if (value !== null && typeof value === 'object')
    for (const [k, v] of Object.entries(value)) paths(v, [...at, k], out);
  return out;
}

const PLACEHOLDER = (i: number): string => `\u0001fuzz-raw-${i}\u0001`;

/**
 * `seed` with one to three structural mutations at random nodes — a node replaced by a hostile
 * value, deleted, wrapped, repeated, or given an unknown sibling — serialized to JSON text.
 */
export function mutateJson(rng: Rng, seed: unknown): { text: string; what: string } {
  let root = structuredClone(seed) as Json;
  const raws: string[] = [];
  const whats: string[] = [];
  const count = 1 + rng.int(3);
  for (let m = 0; m < count; m++) {
    const all = paths(root);
    const path = rng.pick(all);
    const where = path.length === 0 ? '(root)' : path.join('.');
    const op = rng.int(10);
    let replacement: Json | undefined;
    const current = path.reduce<Json>((node, k) => (node as Record<string, Json>)[k as string]!, root);
    if (op < 6) {
      raws.push(hostileJson(rng));
      replacement = PLACEHOLDER(raws.length - 1);
      whats.push(`${where}=${raws.at(-1)!.slice(0, 40)}`);
    } else if (op === 6) {
      replacement = undefined;
      whats.push(`${where} deleted`);
    } else if (op === 7) {
      replacement = [current];
      whats.push(`${where} wrapped in []`);
    } else if (op === 8) {
      replacement = Array.isArray(current)
        ? Array.from({ length: rng.pick([2, 1000]) }, () => current[0] ?? null)
        : { value: current };
      whats.push(`${where} repeated or boxed`);
    } else {
      replacement =
        current !== null && typeof current === 'object' && !Array.isArray(current)
          ? {
              ...current,
              [rng.pick(['fuzz', '', '$ref', 'resourceType'])]: PLACEHOLDER(raws.push(hostileJson(rng)) - 1),
            }
          : current;
      whats.push(`${where} extra key`);
    }
    if (path.length === 0) {
      root = replacement === undefined ? null : replacement;
      continue;
    }
    const parent = path
      .slice(0, -1)
      .reduce<Json>((node, k) => (node as Record<string, Json>)[k as string]!, root) as Record<string, Json>;
    const key = path.at(-1)!;
    if (replacement === undefined) {
      if (Array.isArray(parent)) parent.splice(key as number, 1);
      else delete parent[key];
    } else {
      parent[key] = replacement;
    }
  }
  let text = JSON.stringify(root);
  raws.forEach((raw, i) => {
    text = text.split(JSON.stringify(PLACEHOLDER(i))).join(raw);
  });
  return { text, what: whats.join('; ') };
}

/** Byte-level damage to a JSON text: truncated, a byte flipped or inserted, junk around it, invalid UTF-8. */
export function damageText(rng: Rng, text: string): { bytes: Buffer; what: string } {
  const bytes = Buffer.from(text);
  const at = rng.int(Math.max(1, bytes.length));
  switch (rng.int(7)) {
    case 0:
      return { bytes: bytes.subarray(0, at), what: `truncated at ${at}` };
    case 1:
      return {
        bytes: Buffer.concat([
          bytes.subarray(0, at),
          Buffer.from([rng.pick([0x00, 0x22, 0x5c, 0x7b, 0x5d, 0x2c])]),
          bytes.subarray(at),
        ]),
        what: `byte inserted at ${at}`,
      };
    case 2:
      return {
        bytes: Buffer.concat([
          bytes.subarray(0, at),
          Buffer.from([0xff, 0xfe, 0xc0, 0xaf]),
          bytes.subarray(at),
        ]),
        what: 'invalid UTF-8',
      };
    case 3:
      return { bytes: Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), bytes]), what: 'UTF-8 BOM' };
    case 4:
      return {
        bytes: Buffer.concat([bytes, Buffer.from(rng.pick(['}', ']]]', ' x', '\u0000', ',{}']))]),
        what: 'trailing junk',
      };
    case 5:
      return { bytes: Buffer.from(text.replace('{"', '{"dup":1,"dup":2,"')), what: 'duplicate keys' };
    default:
      return { bytes: Buffer.from(text.replace(/"/g, "'")), what: 'single quotes' };
  }
}
