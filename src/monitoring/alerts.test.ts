import { describe, expect, it } from 'vitest';
import { OutboundClient } from '../outbound/index.js';
import {
  durationMs,
  isPrivateHost,
  judge,
  maskedWebhook,
  parseMonitoringSettings as parseWith,
  webhookRefusalFor,
} from './alerts.js';
import type { WebhookRefusal } from './alerts.js';

/** The webhook rules of a server with default outbound settings, as the monitoring service builds them. */
const DEFAULT_WEBHOOKS = webhookRefusalFor(new OutboundClient(), false);
const parseMonitoringSettings = (raw: unknown, refusal: WebhookRefusal = DEFAULT_WEBHOOKS) =>
  parseWith(raw, refusal);
import { performanceOf, subgroupGap } from './performance.js';
import { buildProfile, labelValue, predictionOf } from './profile.js';
import { windowReport } from './report.js';
import type { WindowReport } from './report.js';

const binary = { tensor: 'probabilities', task: 'binary' as const, classes: ['no', 'yes'] };

describe('live performance', () => {
  it('computes calibration error from the bins: a calibrated model scores ~0, an overconfident one does not', () => {
    // Predictions of 0.2 that come true 20% of the time, and of 0.8 that come true 80% of the time.
    const p = [...Array<number>(100).fill(0.2), ...Array<number>(100).fill(0.8)];
    const y = [
      ...p.slice(0, 100).map((_, i) => (i < 20 ? 1 : 0)),
      ...p.slice(100).map((_, i) => (i < 80 ? 1 : 0)),
    ];
    const calibrated = performanceOf(binary, p, y);
    expect(calibrated).toMatchObject({ task: 'binary', n: 200, positives: 100, calibrationError: 0 });
    if (calibrated.task !== 'binary') throw new Error('binary');
    expect(calibrated.auroc).toBeCloseTo(0.8, 6);
    // The same ranking, pushed to 0.01 / 0.99: AUROC unchanged, calibration error 0.19 per row.
    const overconfident = performanceOf(
      binary,
      p.map((v) => (v < 0.5 ? 0.01 : 0.99)),
      y,
    );
    if (overconfident.task !== 'binary') throw new Error('binary');
    expect(overconfident.auroc).toBeCloseTo(0.8, 6);
    expect(overconfident.calibrationError).toBeCloseTo(0.19, 6);
    expect(overconfident.brier).toBeGreaterThan(calibrated.brier);
  });

  it('leaves AUROC out when the labels hold one class, and skips rows without a prediction', () => {
    const result = performanceOf(binary, [0.1, null, 0.3], [0, 1, 0]);
    expect(result).toMatchObject({ n: 2, positives: 0 });
    expect(result.task === 'binary' && result.auroc).toBeUndefined();
  });

  it('names the best and worst group with enough labels', () => {
    const good = performanceOf(
      binary,
      [...Array<number>(20).fill(0.9), ...Array<number>(20).fill(0.1)],
      [...Array<number>(20).fill(1), ...Array<number>(20).fill(0)],
    );
    const coin = performanceOf(
      binary,
      Array.from({ length: 40 }, (_, i) => (i % 2 ? 0.6 : 0.4)),
      Array.from({ length: 40 }, (_, i) => (i < 20 ? 1 : 0)),
    );
    const few = performanceOf(binary, [0.9, 0.1], [0, 1]);
    expect(subgroupGap({ F: good, M: coin, X: few })).toMatchObject({
      metric: 'auroc',
      gap: 0.5,
      best: 'F',
      worst: 'M',
    });
    expect(subgroupGap({ F: good, X: few })).toBeUndefined();
  });
});

describe('labels and predictions', () => {
  it('takes class names, or 0/1 and booleans for two classes, and refuses anything else', () => {
    expect(labelValue(binary, 'yes')).toBe(1);
    expect(labelValue(binary, 0)).toBe(0);
    expect(labelValue(binary, true)).toBe(1);
    // The label is a patient's outcome: the message names its kind and the classes, never it.
    expect(() => labelValue(binary, 'Jane Roe 555-12-3456')).toThrow(
      /^the label is a string that is not one of the classes "no", "yes" \(or 0\/1, false\/true for the second class\)$/,
    );
    const three = { tensor: 'probabilities', task: 'multiclass' as const, classes: ['a', 'b', 'c'] };
    expect(() => labelValue(three, 1)).toThrow(/not one of the classes/);
    expect(predictionOf(three, [0.1, 0.7, 0.2])).toBe('b');
    expect(labelValue({ tensor: 'prediction', task: 'regression' }, 4.5)).toBe(4.5);
    expect(() => labelValue({ tensor: 'prediction', task: 'regression' }, 'Jane Roe')).toThrow(
      /^the label is a string, not a finite number; this model predicts a value$/,
    );
  });
});

describe('alert rules', () => {
  it('parses durations from a minute to a year', () => {
    expect(durationMs('PT1H', 'w')).toBe(3_600_000);
    expect(durationMs('P1DT6H', 'w')).toBe(30 * 3_600_000);
    expect(() => durationMs('PT30S', 'w')).toThrow(/ISO 8601 duration/);
    expect(() => durationMs('P400D', 'w')).toThrow(/PT1M to P366D/);
  });

  it('fills defaults, and refuses duplicates, unknown fields and misplaced options', () => {
    const parsed = parseMonitoringSettings({ rules: [{ name: 'drop', metric: 'auroc', below: 0.7 }] });
    expect(parsed.rules[0]).toEqual({
      name: 'drop',
      metric: 'auroc',
      below: 0.7,
      window: 'P1D',
      minSamples: 30,
      actions: ['log', 'metric'],
    });
    expect(() => parseMonitoringSettings({ rules: [parsed.rules[0], parsed.rules[0]] })).toThrow(
      /names must be unique/,
    );
    expect(() =>
      parseMonitoringSettings({ rules: [{ name: 'a', metric: 'auroc', below: 1, colour: 'red' }] }),
    ).toThrow(/unknown field "colour"/);
    expect(() =>
      parseMonitoringSettings({ rules: [{ name: 'a', metric: 'auroc', below: 1, feature: 'age' }] }),
    ).toThrow(/feature goes with metric feature_psi/);
    expect(() => parseMonitoringSettings({ sampleRate: 0.5, extra: 1 })).toThrow(/unknown field "extra"/);
  });

  it('judges only windows with enough samples', () => {
    const rule = parseMonitoringSettings({
      rules: [{ name: 'drop', metric: 'auroc', below: 0.7, minSamples: 100 }],
    }).rules[0]!;
    const window = (labelled: number, auroc: number): WindowReport => ({
      from: '',
      to: '',
      samples: labelled,
      labelled,
      performance: {
        task: 'binary',
        n: labelled,
        positives: 1,
        meanPredicted: 0,
        observedRate: 0,
        auroc,
        brier: 0,
        calibrationError: 0,
        calibration: [],
      },
    });
    expect(judge(rule, window(99, 0.5))).toBeUndefined();
    expect(judge(rule, window(100, 0.5))).toEqual({ state: 'firing', value: 0.5 });
    expect(judge(rule, window(100, 0.75))).toEqual({ state: 'ok', value: 0.75 });
  });

  it('refuses webhooks to internal addresses unless allowed, and shows them by origin only', () => {
    const rule = (webhook: string) => ({
      rules: [{ name: 'w', metric: 'auroc', below: 0.7, actions: ['webhook'], webhook }],
    });
    for (const url of [
      'http://127.0.0.1:9/x',
      'http://localhost/x',
      'http://169.254.169.254/latest',
      'http://10.0.0.5/',
      'http://[::1]/',
      'http://192.168.1.1/',
    ])
      expect(() => parseMonitoringSettings(rule(url)), url).toThrow(/loopback, private or link-local/);
    expect(
      parseMonitoringSettings(rule('http://127.0.0.1:9/x'), webhookRefusalFor(new OutboundClient(), true))
        .rules[0]!.webhook,
    ).toBe('http://127.0.0.1:9/x');
    // Plain http to a public host is refused when saved, as it would be when sent.
    expect(() => parseMonitoringSettings(rule('http://hooks.example.org/x'))).toThrow(
      /refused: plain http is allowed only to hosts in outbound.allowHttpHosts/,
    );
    expect(parseMonitoringSettings(rule('https://hooks.example.org/T0/B1/secret')).rules).toHaveLength(1);
    expect(isPrivateHost('8.8.8.8')).toBe(false);
    expect(isPrivateHost('::ffff:10.0.0.1')).toBe(true);
    // The forms Node's URL parser and resolver give for IPv4 inside IPv6 are judged as IPv4.
    expect(isPrivateHost(new URL('http://[::ffff:169.254.169.254]/').hostname)).toBe(true);
    expect(isPrivateHost('::ffff:a9fe:a9fe')).toBe(true);
    expect(isPrivateHost('64:ff9b::a00:1')).toBe(true);
    expect(isPrivateHost('2002:7f00:1::')).toBe(true);
    expect(isPrivateHost('2001:4860:4860::8888')).toBe(false);
    expect(isPrivateHost('::ffff:8.8.8.8')).toBe(false);
    expect(maskedWebhook('https://hooks.example.org/T0/B1/secret?x=1')).toBe('https://hooks.example.org/…');
  });

  it('refuses at save time every address the outbound client would refuse at send time', () => {
    const rule = (webhook: string) => ({
      rules: [{ name: 'w', metric: 'auroc', below: 0.7, actions: ['webhook'], webhook }],
    });
    // Not public, though outside loopback, RFC 1918 and link-local: the send would be refused.
    for (const [url, kind] of [
      ['https://198.18.0.1/', 'a benchmarking address'],
      ['https://192.0.2.7/', 'a documentation address'],
      ['https://[2001:db8::1]/', 'a documentation address'],
      ['https://[fec0::1]/', 'a site-local address'],
      ['https://[2001::1]/', 'a Teredo address'],
      ['https://10.0.0.5/', 'a private address'],
    ] as const)
      expect(() => parseMonitoringSettings(rule(url)), url).toThrow(
        `webhook host ${new URL(url).hostname} is ${kind}; alerts go to public hosts, not loopback, private or link-local ones`,
      );
    // Names that can only point inside are refused before any lookup.
    for (const url of ['https://metadata.google.internal/', 'https://printer.local/', 'https://a.localhost/'])
      expect(() => parseMonitoringSettings(rule(url)), url).toThrow(/loopback, private or link-local/);
    expect(parseMonitoringSettings(rule('https://[2606:4700::1111]/')).rules).toHaveLength(1);
    expect(parseMonitoringSettings(rule('https://1.1.1.1/hook')).rules).toHaveLength(1);
  });

  it('flags no drift in a window too small to judge, however far its few values are', () => {
    const profile = buildProfile({
      layout: { kind: 'columns', inputs: [{ name: 'age', datatype: 'FP32' }] },
      output: binary,
      featureRows: Array.from({ length: 200 }, (_, i) => [20 + (i % 50)]),
      outputs: Array.from({ length: 200 }, (_, i) => [1 - (i % 10) / 10, (i % 10) / 10]),
      source: 'test',
      createdAt: '2026-01-01T00:00:00Z',
    });
    const far = (n: number) => Array.from({ length: n }, () => ({ at: 0, features: [95], prediction: 0.9 }));
    const small = windowReport(profile, far(5), new Date(0), new Date(1));
    expect(small.drift?.enough).toBe(false);
    expect(small.drift?.features['age']?.psi).toBeGreaterThan(1);
    expect(small.drift?.features['age']?.drifted).toBe(false);
    expect(small.drift?.drifted).toEqual([]);
    const enough = windowReport(profile, far(60), new Date(0), new Date(1));
    expect(enough.drift?.features['age']?.drifted).toBe(true);
    expect(enough.drift?.drifted).toEqual(['age', 'prediction']);
    expect(windowReport(profile, [], new Date(0), new Date(1)).drift).toBeUndefined();
  });
});
