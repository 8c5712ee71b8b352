import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from './config.js';

describe('loadConfig', () => {
  it('uses the documented defaults', () => {
    const config = loadConfig({ env: {} });
    expect(config.host).toBe('127.0.0.1');
    expect(config.port).toBe(8080);
    expect(config.dataDir).toMatch(/\.galen$/);
    expect(config.runtime.maxConcurrentPerModel).toBe(2);
  });

  it("leaves ONNX Runtime's CPU arena off unless GALEN_RUNTIME_CPU_MEM_ARENA turns it on", () => {
    expect(loadConfig({ env: {} }).runtime.cpuMemArena).toBe(false);
    expect(loadConfig({ env: { GALEN_RUNTIME_CPU_MEM_ARENA: 'true' } }).runtime.cpuMemArena).toBe(true);
  });

  it('layers file under environment variables', () => {
    const dir = mkdtempSync(join(tmpdir(), 'galen-config-'));
    const file = join(dir, 'galen.json');
    writeFileSync(file, JSON.stringify({ port: 9000, host: '0.0.0.0', runtime: { warmup: false } }));
    const config = loadConfig({ env: { GALEN_CONFIG: file, GALEN_PORT: '9100' } });
    expect(config.port).toBe(9100);
    expect(config.host).toBe('0.0.0.0');
    expect(config.runtime.warmup).toBe(false);
    expect(config.runtime.maxConcurrentPerModel).toBe(2);
  });

  it('reads trusted CDS clients from GALEN_CDS_CLIENTS (JSON), and refuses entries without keys', () => {
    const clients = [{ iss: 'https://ehr.example.org', jwksUrl: 'https://ehr.example.org/jwks.json' }];
    const config = loadConfig({
      env: { GALEN_CDS_CLIENTS: JSON.stringify(clients), GALEN_CDS_PUBLIC_URL: 'https://galen.example.org' },
    });
    expect(config.cds.clients).toEqual([{ ...clients[0], jku: [], fhirServers: [] }]);
    expect(loadConfig({ env: {} }).cds.clients).toEqual([]);
    const problems = (env: Record<string, string>): string => {
      try {
        loadConfig({ env });
      } catch (err) {
        return (err as ConfigError).problems.join('\n');
      }
      return '';
    };
    expect(problems({ GALEN_CDS_CLIENTS: '[{"iss": ' })).toMatch(/GALEN_CDS_CLIENTS must be JSON/);
    expect(problems({ GALEN_CDS_CLIENTS: '[{"iss": "x"}]' })).toMatch(
      /cds.clients\[0\] \(iss "x"\) needs one of jwksUrl or jwks/,
    );
    expect(problems({ GALEN_CDS_CLIENTS: '[{"iss": "x", "jwksUrl": "ftp://x"}]' })).toMatch(
      /cds.clients.0.jwksUrl/,
    );
    expect(problems({ GALEN_CDS_PUBLIC_URL: 'https://galen.example.org/' })).toMatch(/cds.publicUrl/);
    // A JWT's aud is checked against cds.publicUrl, never against the caller's Host header.
    expect(problems({ GALEN_CDS_CLIENTS: JSON.stringify(clients) })).toMatch(
      /cds.publicUrl \(GALEN_CDS_PUBLIC_URL\) is required with cds.clients/,
    );
  });

  it('lists every problem at once', () => {
    let caught: unknown;
    try {
      loadConfig({ env: { GALEN_PORT: 'eighty', GALEN_RUNTIME_WARMUP: 'maybe', GALEN_ADMIN_KEY: 'short' } });
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(ConfigError);
    const problems = (caught as ConfigError).problems.join('\n');
    expect(problems).toContain('GALEN_PORT="eighty" must be an integer');
    expect(problems).toContain('GALEN_RUNTIME_WARMUP="maybe" must be true or false');
    expect(problems).toContain('adminKey');
  });

  it('lists each problem once, with the allowed values, from the file and the environment together', () => {
    const dir = mkdtempSync(join(tmpdir(), 'galen-config-'));
    const file = join(dir, 'galen.json');
    writeFileSync(file, JSON.stringify({ host: 7, runtime: { preferredBatchSizes: [8, 4] } }));
    let caught: unknown;
    try {
      loadConfig({
        file,
        env: { GALEN_LOG_LEVEL: 'loud', GALEN_PORT: 'eighty', GALEN_MONITORING_SAMPLE_RATE: '5' },
      });
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(ConfigError);
    const problems = (caught as ConfigError).problems;
    expect(problems).toEqual([
      'GALEN_PORT="eighty" must be an integer',
      'host: must be string',
      'logLevel (GALEN_LOG_LEVEL): "loud" is not one of fatal, error, warn, info, debug, trace, silent',
      'monitoring.sampleRate (GALEN_MONITORING_SAMPLE_RATE): must be <= 1',
      'runtime.preferredBatchSizes [8,4] must be in ascending order',
    ]);
  });

  it('names unknown settings in a config file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'galen-config-'));
    const file = join(dir, 'galen.json');
    writeFileSync(file, JSON.stringify({ prot: 1 }));
    expect(() => loadConfig({ file, env: {} })).toThrow(/unknown setting\(s\) \["prot"\]/);
  });

  it('makes every path absolute at load, so nothing depends on the working folder later', () => {
    const config = loadConfig({
      env: {
        GALEN_DATA_DIR: 'data/.galen',
        GALEN_MASTER_KEY_FILE: 'keys/master.key',
        GALEN_DEID_KEY_FILE: './deid.key',
        GALEN_TLS_CERT_FILE: 'tls/cert.pem',
        GALEN_TLS_KEY_FILE: 'tls/key.pem',
      },
    });
    expect(config.dataDir).toBe(resolve('data/.galen'));
    expect(config.encryption.masterKeyFile).toBe(resolve('keys/master.key'));
    expect(config.deid.keyFile).toBe(resolve('deid.key'));
    expect(config.tls).toEqual({ certFile: resolve('tls/cert.pem'), keyFile: resolve('tls/key.pem') });
    expect(isAbsolute(loadConfig({ env: {} }).dataDir)).toBe(true);
    expect(loadConfig({ env: {} }).deid.keyFile).toBeUndefined();
  });

  it('sweeps artifacts hourly by default; GALEN_ARTIFACTS_SWEEP_SECONDS sets it, 0 = only at start', () => {
    expect(loadConfig({ env: {} }).artifacts.sweepSeconds).toBe(3600);
    expect(loadConfig({ env: { GALEN_ARTIFACTS_SWEEP_SECONDS: '0' } }).artifacts.sweepSeconds).toBe(0);
    expect(() => loadConfig({ env: { GALEN_ARTIFACTS_SWEEP_SECONDS: '-5' } })).toThrow(
      /artifacts.sweepSeconds/,
    );
  });
});
