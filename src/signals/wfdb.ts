/**
 * WFDB records (PhysioNet's format for physiological signals, as in the MIT-BIH Arrhythmia
 * Database), read from bytes: the header (`.hea`), samples in format 212 or 16 (`.dat`), and
 * MIT-format annotations (`.atr`). Pure functions; no I/O. Samples are checked against the
 * header's initial values and checksums, so a truncated or mismatched file is refused rather
 * than read as a different signal.
 */
import { GalenError } from '../core/index.js';

export interface WfdbSignalSpec {
  /** The `.dat` file it is stored in, as the header names it. */
  fileName: string;
  format: 16 | 212;
  /** ADC units per physical unit (200 for MIT-BIH: 200 per mV). */
  gain: number;
  /** ADC value of 0 physical units. */
  baseline: number;
  units: string;
  adcResolution: number;
  adcZero: number;
  initialValue: number | undefined;
  /** Sum of all samples as a 16-bit signed integer. */
  checksum: number | undefined;
  description: string;
}

export interface WfdbHeader {
  record: string;
  samplingFrequency: number;
  /** Samples per signal. */
  length: number;
  signals: WfdbSignalSpec[];
  /** `#` lines, without the `#` (age, sex, medications in MIT-BIH). */
  comments: string[];
}

export interface WfdbSignals {
  /** Digital values per signal (ADC units), in header order. */
  digital: Int16Array[];
  /** (digital − baseline) / gain, in each signal's units. */
  physical(signal: number): Float32Array;
}

export interface WfdbAnnotation {
  /** Sample index. */
  sample: number;
  /** Annotation code (1 = N, 5 = V, 8 = A, 28 = rhythm change, …). */
  code: number;
  /** Its mnemonic: `N`, `V`, `A`, `+`, … */
  symbol: string;
  subtype: number;
  channel: number;
  num: number;
  /** Auxiliary text, e.g. `(N` or `(AFIB` on a rhythm change. */
  aux?: string;
}

/**
 * Mnemonics of MIT annotation codes (WFDB's ecgcodes.h), one character per code from 0; codes 15
 * and 17 have none (`_` here).
 */
const SYMBOLS = Array.from(' NLRaVFJASEj/Q~_|_sT*D"=pB^t+u?![]en@xf()r', (c) => (c === '_' ? '' : c));

/** Codes that mark a heartbeat (as opposed to rhythm changes, noise, comments). */
const BEAT_CODES = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 25, 34, 35, 38, 41];
export const BEAT_SYMBOLS: ReadonlySet<string> = new Set(BEAT_CODES.map((code) => SYMBOLS[code]!));

const invalid = (message: string): GalenError => new GalenError('invalid_input', message);

function parseNumberField(text: string | undefined, what: string, line: number): number {
  const value = Number(text);
  if (text === undefined || text === '' || !Number.isFinite(value)) {
    throw invalid(`WFDB header line ${line}: ${what} is "${text ?? ''}", not a number`);
  }
  return value;
}

/**
 * Reads a `.hea` header: the record line (name, signal count, sampling frequency, length) and one
 * line per signal; `#` comments and blank lines may appear anywhere.
 * @example parseWfdbHeader('100 2 360 650000\n100.dat 212 200 11 1024 995 -22131 0 MLII\n…')
 */
export function parseWfdbHeader(text: string): WfdbHeader {
  const comments: string[] = [];
  const lines: { text: string; line: number }[] = [];
  text.split(/\r?\n/).forEach((raw, i) => {
    const trimmed = raw.trim();
    if (trimmed.startsWith('#')) comments.push(trimmed.slice(1).trim());
    else if (trimmed !== '') lines.push({ text: trimmed, line: i + 1 });
  });
  const first = lines[0];
  if (!first) throw invalid('the WFDB header is empty; expected a record line such as "100 2 360 650000"');
  const [name, count, frequency, length] = first.text.split(/\s+/);
  if (name?.includes('/'))
    throw invalid(`WFDB header line ${first.line}: multi-segment records are not supported`);
  const signalCount = parseNumberField(count, 'the number of signals', first.line);
  const samplingFrequency = parseNumberField(
    frequency?.split('/')[0] ?? '250',
    'the sampling frequency',
    first.line,
  );
  if (length === undefined)
    throw invalid(`WFDB header line ${first.line}: the record length (samples per signal) is missing`);
  const samples = parseNumberField(length, 'the number of samples', first.line);
  if (lines.length - 1 < signalCount) {
    throw invalid(`the WFDB header declares ${signalCount} signals but describes ${lines.length - 1}`);
  }
  const signals = lines.slice(1, 1 + signalCount).map(({ text: line, line: n }): WfdbSignalSpec => {
    const f = line.split(/\s+/);
    const format = Number(f[1]?.split(/[x:+]/)[0]);
    if (format !== 212 && format !== 16) {
      throw invalid(
        `WFDB header line ${n}: sample format ${f[1] ?? '(none)'} is not supported; formats 212 and 16 are`,
      );
    }
    // gain[(baseline)][/units]
    const gainField = /^([-+0-9.eE]+)(?:\(([-0-9]+)\))?(?:\/(\S+))?$/.exec(f[2] ?? '200');
    if (!gainField)
      throw invalid(`WFDB header line ${n}: ADC gain "${f[2]}" is not gain[(baseline)][/units]`);
    const gain = Number(gainField[1]) || 200;
    const adcZero = f[4] === undefined ? 0 : parseNumberField(f[4], 'the ADC zero', n);
    return {
      fileName: f[0]!,
      format,
      gain,
      baseline: gainField[2] === undefined ? adcZero : Number(gainField[2]),
      units: gainField[3] ?? 'mV',
      adcResolution: f[3] === undefined ? 12 : parseNumberField(f[3], 'the ADC resolution', n),
      adcZero,
      initialValue: f[5] === undefined ? undefined : parseNumberField(f[5], 'the initial value', n),
      checksum: f[6] === undefined ? undefined : parseNumberField(f[6], 'the checksum', n),
      description: f.slice(8).join(' '),
    };
  });
  return { record: name!, samplingFrequency, length: samples, signals, comments };
}

/**
 * Decodes the samples of every signal stored in one `.dat` file (all signals of `header` naming
 * `fileName`, interleaved frame by frame). Format 212 packs two 12-bit two's-complement samples in
 * three bytes; format 16 is 16-bit little-endian.
 */
export function readWfdbSignals(header: WfdbHeader, dat: Uint8Array, fileName?: string): WfdbSignals {
  const name = fileName ?? header.signals[0]?.fileName;
  const specs = header.signals.filter((s) => s.fileName === name);
  if (specs.length === 0) throw invalid(`the WFDB header has no signal stored in "${name}"`);
  const format = specs[0]!.format;
  if (specs.some((s) => s.format !== format)) throw invalid(`signals in "${name}" mix sample formats`);
  const n = specs.length;
  const total = header.length * n;
  const needed = format === 212 ? Math.ceil((total * 3) / 2) : total * 2;
  if (dat.length < needed) {
    throw invalid(
      `"${name}" holds ${dat.length} bytes; ${header.length} samples of ${n} signal(s) in format ${format} need ${needed}`,
    );
  }
  const digital = specs.map(() => new Int16Array(header.length));
  if (format === 212) {
    for (let k = 0, b = 0; k < total; k += 2, b += 3) {
      const b0 = dat[b]!;
      const b1 = dat[b + 1]!;
      const b2 = dat[b + 2]!;
      const first = ((b1 & 0x0f) << 8) | b0;
      digital[k % n]![Math.floor(k / n)] = first > 2047 ? first - 4096 : first;
      if (k + 1 < total) {
        const second = ((b1 & 0xf0) << 4) | b2;
        digital[(k + 1) % n]![Math.floor((k + 1) / n)] = second > 2047 ? second - 4096 : second;
      }
    }
  } else {
    const view = new DataView(dat.buffer, dat.byteOffset, dat.byteLength);
    for (let k = 0; k < total; k++) digital[k % n]![Math.floor(k / n)] = view.getInt16(k * 2, true);
  }
  specs.forEach((spec, s) => {
    const values = digital[s]!;
    if (spec.initialValue !== undefined && values.length > 0 && values[0] !== spec.initialValue) {
      throw invalid(
        `signal "${spec.description}" starts at ${values[0]}; the header says ${spec.initialValue} (wrong file or format?)`,
      );
    }
    if (spec.checksum !== undefined) {
      let sum = 0;
      for (const v of values) sum = (sum + v) & 0xffff;
      const signed = sum > 32767 ? sum - 65536 : sum;
      if (signed !== spec.checksum) {
        throw invalid(
          `signal "${spec.description}" has checksum ${signed}; the header says ${spec.checksum} (damaged file?)`,
        );
      }
    }
  });
  return {
    digital,
    physical(signal: number): Float32Array {
      const spec = specs[signal];
      const values = digital[signal];
      if (!spec || !values) throw invalid(`there is no signal ${signal}; this file holds ${n}`);
      return Float32Array.from(values, (v) => (v - spec.baseline) / spec.gain);
    },
  };
}

const SKIP = 59;
const NUM = 60;
const SUB = 61;
const CHN = 62;
const AUX = 63;

/**
 * Reads MIT-format annotations: 16-bit little-endian words holding a 6-bit code and a 10-bit time
 * step, with the pseudo-codes SKIP (a longer step), NUM, SUB, CHN (fields that persist) and AUX
 * (text attached to the annotation before it).
 */
export function parseWfdbAnnotations(bytes: Uint8Array): WfdbAnnotation[] {
  const out: WfdbAnnotation[] = [];
  const word = (at: number): number => bytes[at]! | (bytes[at + 1]! << 8);
  let sample = 0;
  let num = 0;
  let channel = 0;
  let pos = 0;
  while (pos + 1 < bytes.length) {
    const w = word(pos);
    const code = w >> 10;
    const interval = w & 0x3ff;
    pos += 2;
    if (code === 0 && interval === 0) return out;
    if (code === SKIP) {
      if (pos + 3 >= bytes.length) break;
      // A 32-bit step, stored high 16 bits first, each half little-endian (PDP-11 order).
      const step = (word(pos) << 16) | word(pos + 2) | 0;
      sample += step;
      pos += 4;
    } else if (code === NUM) {
      num = interval > 511 ? interval - 1024 : interval;
      const last = out.at(-1);
      if (last) last.num = num;
    } else if (code === SUB) {
      const last = out.at(-1);
      if (last) last.subtype = interval > 511 ? interval - 1024 : interval;
    } else if (code === CHN) {
      channel = interval;
      const last = out.at(-1);
      if (last) last.channel = channel;
    } else if (code === AUX) {
      const end = pos + interval;
      if (end > bytes.length) break;
      const last = out.at(-1);
      if (last) last.aux = new TextDecoder().decode(bytes.subarray(pos, end)).replace(/\0+$/, '');
      pos = end + (interval & 1);
    } else {
      sample += interval;
      out.push({ sample, code, symbol: SYMBOLS[code] ?? '?', subtype: 0, channel, num });
    }
  }
  throw invalid(
    `the annotation file ends without its end marker after ${out.length} annotations (truncated?)`,
  );
}
