/**
 * The WFDB reader on MIT-BIH record 100 (the real files), checked against what PhysioNet publishes
 * for it, plus small hand-made records for the corners: format 16, SKIP/NUM/CHN/AUX annotations,
 * and files that must be refused.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { BEAT_SYMBOLS, parseWfdbAnnotations, parseWfdbHeader, readWfdbSignals } from './wfdb.js';
import { dataUrl } from '../../test/helpers/data.js';

const record = (ext: string) => readFileSync(dataUrl(`signals/mitbih_100.${ext}`));

describe('WFDB, MIT-BIH record 100', () => {
  const header = parseWfdbHeader(record('hea').toString('utf8'));

  it('reads the header, skipping comments and blank lines', () => {
    expect(header).toMatchObject({ record: '100', samplingFrequency: 360, length: 650_000 });
    expect(
      header.signals.map((s) => [s.description, s.format, s.gain, s.baseline, s.initialValue, s.checksum]),
    ).toEqual([
      ['MLII', 212, 200, 1024, 995, -22131],
      ['V5', 212, 200, 1024, 1011, 20052],
    ]);
    expect(header.comments).toContain('69 M 1085 1629 x1');
  });

  it('decodes format 212 samples that match the header checksums, in mV', () => {
    const signals = readWfdbSignals(header, record('dat'));
    expect(signals.digital).toHaveLength(2);
    expect(signals.digital[0]!.length).toBe(650_000);
    expect(Array.from(signals.digital[0]!.subarray(0, 10))).toEqual([
      995, 995, 995, 995, 995, 995, 995, 995, 1000, 997,
    ]);
    expect(signals.physical(0)[0]).toBeCloseTo(-0.145, 6);
    expect(signals.physical(1)[0]).toBeCloseTo((1011 - 1024) / 200, 6);
  });

  it('reads the beat annotations PhysioNet lists for record 100', () => {
    const annotations = parseWfdbAnnotations(record('atr'));
    const counts: Record<string, number> = {};
    for (const a of annotations) counts[a.symbol] = (counts[a.symbol] ?? 0) + 1;
    expect(counts).toEqual({ '+': 1, N: 2239, A: 33, V: 1 });
    expect(annotations.filter((a) => BEAT_SYMBOLS.has(a.symbol))).toHaveLength(2273);
    expect(annotations.slice(0, 3).map((a) => [a.sample, a.symbol, a.aux])).toEqual([
      [18, '+', '(N'],
      [77, 'N', undefined],
      [370, 'N', undefined],
    ]);
    expect(annotations.at(-1)!.sample).toBe(649_991);
  });

  it('refuses a truncated or damaged .dat file', () => {
    const dat = record('dat');
    expect(() => readWfdbSignals(header, dat.subarray(0, 1000))).toThrow(
      /holds 1000 bytes; 650000 samples of 2 signal\(s\) in format 212 need 1950000/,
    );
    const damaged = Uint8Array.from(dat);
    damaged[5000] = damaged[5000]! ^ 0x01;
    expect(() => readWfdbSignals(header, damaged)).toThrow(
      /checksum .*; the header says .* \(damaged file\?\)/,
    );
  });
});

describe('WFDB corners', () => {
  it('reads format 16 and a gain with its own baseline and units', () => {
    const header = parseWfdbHeader('r 1 500 3\nr.dat 16 1000(-5)/uV 16 0 7 0 0 lead I\n');
    expect(header.signals[0]).toMatchObject({ gain: 1000, baseline: -5, units: 'uV', description: 'lead I' });
    const dat = new Uint8Array(6);
    const view = new DataView(dat.buffer);
    [7, -12, 5].forEach((v, i) => view.setInt16(i * 2, v, true));
    const header2 = { ...header, signals: [{ ...header.signals[0]!, checksum: 0 }] };
    const signals = readWfdbSignals(header2, dat);
    expect(Array.from(signals.digital[0]!)).toEqual([7, -12, 5]);
    expect(signals.physical(0)[1]).toBeCloseTo(-0.007, 6);
  });

  it('follows SKIP, NUM, SUB, CHN and AUX words', () => {
    const words: number[] = [];
    const w = (code: number, interval: number) => words.push(interval | (code << 10));
    w(1, 100); // N at 100
    w(59, 0); // SKIP 70000 (high half first)
    words.push(1, 70000 - 65536);
    w(5, 10); // V at 100 + 70000 + 10
    w(60, 3); // num 3 for that V and after
    w(62, 1); // channel 1
    w(61, 1023); // subtype -1
    w(28, 5); // rhythm change
    w(63, 5); // aux of 5 bytes, padded
    const aux = new TextEncoder().encode('(AFIB');
    const bytes = new Uint8Array(words.length * 2 + 6 + 2);
    words.forEach((v, i) => {
      bytes[i * 2] = v & 0xff;
      bytes[i * 2 + 1] = v >> 8;
    });
    bytes.set(aux, words.length * 2); // then one pad byte and the 0 end word
    const annotations = parseWfdbAnnotations(bytes);
    expect(annotations.map((a) => [a.sample, a.symbol, a.num, a.channel, a.subtype, a.aux])).toEqual([
      [100, 'N', 0, 0, 0, undefined],
      [70_110, 'V', 3, 1, -1, undefined],
      [70_115, '+', 3, 1, 0, '(AFIB'],
    ]);
    expect(() => parseWfdbAnnotations(bytes.subarray(0, 4))).toThrow(
      /ends without its end marker after 1 annotations/,
    );
  });

  it('refuses headers it cannot read, saying why', () => {
    expect(() => parseWfdbHeader('# only a comment\n')).toThrow(/the WFDB header is empty/);
    expect(() => parseWfdbHeader('r 2 360 100\nr.dat 212 200 11 1024\n')).toThrow(
      /declares 2 signals but describes 1/,
    );
    expect(() => parseWfdbHeader('r 1 360 100\nr.dat 80 200 11 1024\n')).toThrow(
      /sample format 80 is not supported; formats 212 and 16 are/,
    );
    expect(() => parseWfdbHeader('r 1 fast 100\nr.dat 212\n')).toThrow(
      /sampling frequency is "fast", not a number/,
    );
  });
});
