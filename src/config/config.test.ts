import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, redactUrl } from './config.js';

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

  describe('scale-out settings', () => {
    const problems = (env: Record<string, string>, file?: object): string[] => {
      let path: string | undefined;
      if (file) {
        path = join(mkdtempSync(join(tmpdir(), 'galen-config-')), 'galen.json');
        writeFileSync(path, JSON.stringify(file));
      }
      try {
        loadConfig({ env, file: path });
      } catch (err) {
        return [...(err as ConfigError).problems];
      }
      return [];
    };

    it('defaults to the embedded SQLite database and local files, running jobs in the server', () => {
      const config = loadConfig({ env: {} });
      expect(config.database).toEqual({ poolSize: 10 });
      expect(config.artifacts).toEqual({
        s3: { forcePathStyle: false },
        cacheMaxBytes: 2 * 1024 ** 3,
        sweepSeconds: 3600,
      });
      expect(config.jobs).toMatchObject({ runInServer: true, heartbeatSeconds: 5, staleSeconds: 60 });
    });

    it('reads PostgreSQL, S3 and job settings from GALEN_* variables and from the config file alike', () => {
      const env = {
        GALEN_DATABASE_URL: 'postgresql://galen:s3cret@db.internal:5432/galen',
        GALEN_DATABASE_POOL_SIZE: '4',
        GALEN_ARTIFACTS_URL: 's3://galen-models/prod',
        GALEN_S3_ENDPOINT: 'http://127.0.0.1:9000',
        GALEN_S3_REGION: 'us-east-1',
        GALEN_S3_FORCE_PATH_STYLE: 'true',
        GALEN_ARTIFACTS_CACHE_MAX_BYTES: '1048576',
        GALEN_JOBS_RUN_IN_SERVER: 'false',
        GALEN_JOBS_HEARTBEAT_SECONDS: '2',
        GALEN_JOBS_STALE_SECONDS: '10',
      };
      const expected = {
        database: { url: 'postgresql://galen:s3cret@db.internal:5432/galen', poolSize: 4 },
        artifacts: {
          url: 's3://galen-models/prod',
          s3: { endpoint: 'http://127.0.0.1:9000', region: 'us-east-1', forcePathStyle: true },
          cacheMaxBytes: 1048576,
          sweepSeconds: 3600,
        },
      };
      expect(loadConfig({ env })).toMatchObject(expected);
      expect(loadConfig({ env }).jobs).toMatchObject({
        runInServer: false,
        heartbeatSeconds: 2,
        staleSeconds: 10,
      });

      const file = join(mkdtempSync(join(tmpdir(), 'galen-config-')), 'galen.json');
      writeFileSync(
        file,
        JSON.stringify({ ...expected, jobs: { runInServer: false, heartbeatSeconds: 2, staleSeconds: 10 } }),
      );
      const fromFile = loadConfig({ env: {}, file });
      expect(fromFile).toMatchObject(expected);
      expect(fromFile.jobs).toMatchObject({ runInServer: false, heartbeatSeconds: 2, staleSeconds: 10 });
    });

    it('refuses a database URL that is not PostgreSQL in one line naming what is allowed, without its password', () => {
      const allowed =
        'use postgres://user:password@host:5432/database (or postgresql://…), or leave it unset for the embedded SQLite database';
      expect(problems({ GALEN_DATABASE_URL: 'mysql://galen:hunter22@db/galen' })).toEqual([
        `database.url (GALEN_DATABASE_URL): a mysql:// URL is not allowed; ${allowed}`,
      ]);
      expect(problems({ GALEN_DATABASE_URL: 'galen:hunter22@db:5432/galen' })).toEqual([
        `database.url (GALEN_DATABASE_URL): not a URL; ${allowed}`,
      ]);
      expect(problems({}, { database: { url: 'sqlite:///tmp/galen.db' } })).toEqual([
        `database.url: a sqlite:// URL is not allowed; ${allowed}`,
      ]);
      // A password with an unescaped "/" makes it no URL at all: named, never echoed.
      const bad = problems({ GALEN_DATABASE_URL: 'postgres://galen:hun/ter22@db:5432/galen' });
      expect(bad).toHaveLength(1);
      expect(bad[0]).toMatch(/^database.url \(GALEN_DATABASE_URL\): .* is not a valid URL/);
      for (const env of [
        { GALEN_DATABASE_URL: 'mysql://galen:hunter22@db/galen' },
        { GALEN_DATABASE_URL: 'postgres://galen:hun/ter22@db:5432/galen' },
        { GALEN_DATABASE_URL: 'postgres://galen:hunter22@db:5432:x/galen' },
      ])
        expect(problems(env).join('\n')).not.toMatch(/hunter22|hun\/ter22/);
      expect(problems({ GALEN_DATABASE_POOL_SIZE: '0' })).toEqual([
        'database.poolSize (GALEN_DATABASE_POOL_SIZE): must be >= 1',
      ]);
    });

    it('redacts the password of a URL, however it is written', () => {
      expect(redactUrl('postgres://galen:s3cret@db:5432/galen')).toBe('postgres://galen:***@db:5432/galen');
      expect(redactUrl('postgres://galen:s3/c@ret@db/galen?sslmode=require')).toBe(
        'postgres://galen:***@db/galen?sslmode=require',
      );
      expect(redactUrl('postgres://db/galen?user=galen&password=s3cret')).toBe(
        'postgres://db/galen?user=galen&password=***',
      );
      expect(redactUrl('postgres://galen@db/galen')).toBe('postgres://galen@db/galen');
      expect(redactUrl('s3://bucket/prefix')).toBe('s3://bucket/prefix');
    });

    it('refuses an artifacts URL that is not s3://bucket[/prefix] with a valid bucket name', () => {
      const allowed = 'use s3://bucket or s3://bucket/prefix, or leave it unset for files in dataDir';
      expect(problems({ GALEN_ARTIFACTS_URL: 'https://bucket.s3.amazonaws.com/x' })).toEqual([
        `artifacts.url (GALEN_ARTIFACTS_URL): a https: URL is not allowed; ${allowed}`,
      ]);
      for (const bucket of ['My_Models', 'ab', 'models-', '192.168.1.10', 'a..b', ''])
        expect(problems({ GALEN_ARTIFACTS_URL: `s3://${bucket}/p` })).toEqual([
          `artifacts.url (GALEN_ARTIFACTS_URL): bucket "${bucket}" is not a valid S3 bucket name: 3 to 63 lowercase letters, digits, dots and hyphens, starting and ending with a letter or digit (not an IP address); ${allowed}`,
        ]);
      expect(problems({ GALEN_ARTIFACTS_URL: 's3://models//x' })).toEqual([
        `artifacts.url (GALEN_ARTIFACTS_URL): the prefix after the bucket has an empty, "." or ".." part; ${allowed}`,
      ]);
      for (const ok of ['s3://galen-models', 's3://galen.models/', 's3://galen-models/prod/eu-1/'])
        expect(problems({ GALEN_ARTIFACTS_URL: ok })).toEqual([]);
    });

    it('refuses S3 settings without an artifacts URL, and a stale time too close to the heartbeat', () => {
      expect(
        problems({ GALEN_S3_ENDPOINT: 'http://127.0.0.1:9000', GALEN_S3_FORCE_PATH_STYLE: '1' }),
      ).toEqual([
        'artifacts.s3.endpoint (GALEN_S3_ENDPOINT), artifacts.s3.forcePathStyle (GALEN_S3_FORCE_PATH_STYLE) set without artifacts.url (GALEN_ARTIFACTS_URL): set it to s3://bucket/prefix, or remove them (artifacts stay in dataDir)',
      ]);
      expect(problems({ GALEN_S3_ENDPOINT: 'minio:9000', GALEN_ARTIFACTS_URL: 's3://models' })).toEqual([
        'artifacts.s3.endpoint (GALEN_S3_ENDPOINT): must match pattern "^https?://"',
      ]);
      expect(problems({ GALEN_JOBS_STALE_SECONDS: '12' })).toEqual([
        'jobs.staleSeconds (GALEN_JOBS_STALE_SECONDS) 12 must be at least 3 × jobs.heartbeatSeconds 5: one late heartbeat must not make a running job look orphaned',
      ]);
      expect(problems({ GALEN_JOBS_RUN_IN_SERVER: 'no' })).toEqual([
        'GALEN_JOBS_RUN_IN_SERVER="no" must be true or false',
      ]);
    });
  });
});
