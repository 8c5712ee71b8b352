/**
 * The Dockerfile, checked without building it (CI has no Docker engine): dockerfile-utils' linter
 * and our own checks, each also shown failing on a broken copy.
 */
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/index.js';
import {
  contextProblems,
  lintProblems,
  npmProblems,
  runtimeOf,
  stageProblems,
  userProblems,
} from './dockerfile-checks.js';

const ROOT = join(resolve(fileURLToPath(import.meta.url), '../../..'));
const DOCKERFILE = readFileSync(join(ROOT, 'Dockerfile'), 'utf8');
const DOCKERIGNORE = readFileSync(join(ROOT, '.dockerignore'), 'utf8');
const TARGETS = ['runtime', 'pytorch'];

/** The Dockerfile with `from` replaced by `to` (which must be there). */
function broken(from: string | RegExp, to: string): string {
  const changed = DOCKERFILE.replace(from, to);
  if (changed === DOCKERFILE) throw new Error(`${String(from)} is not in the Dockerfile`);
  return changed;
}

describe('Dockerfile', () => {
  it("passes dockerfile-utils' linter, which finds broken instructions", () => {
    expect(lintProblems(DOCKERFILE)).toEqual([]);
    expect(lintProblems(broken('EXPOSE 8080 8081', 'EXPOSE eighty 8081'))).toEqual([
      expect.stringContaining('Invalid containerPort: eighty'),
    ]);
  });

  it('names only earlier stages, pins its base images by version and downloads nothing by ADD', () => {
    expect(stageProblems(DOCKERFILE)).toEqual([]);
    expect(stageProblems(broken('COPY --from=build /app/dist', 'COPY --from=bulid /app/dist'))).toEqual([
      expect.stringMatching(/COPY --from=bulid names no earlier stage/),
    ]);
    expect(stageProblems(broken('ARG NODE_VERSION=20.20.2', 'ARG NODE_VERSION=latest'))).toContainEqual(
      expect.stringMatching(/base image node:latest-bookworm-slim must be pinned/),
    );
    expect(
      stageProblems(
        broken(/FROM node:\$\{NODE_VERSION\}-\$\{DEBIAN_RELEASE\}-slim AS base/, 'FROM node AS base'),
      ),
    ).toEqual([expect.stringMatching(/base image node must be pinned/)]);
    expect(stageProblems(broken('FROM base AS pytorch', 'FROM runtime AS pytorch'))).toContainEqual(
      expect.stringMatching(/base image runtime must be pinned/),
    );
    expect(stageProblems(broken('COPY proto ./proto', 'ADD https://example.org/proto.tgz ./proto'))).toEqual([
      expect.stringMatching(/ADD downloads https:\/\/example.org\/proto.tgz/),
    ]);
  });

  it('runs every target as a non-root numeric user, the runtime target being the default (last) stage', () => {
    expect(userProblems(DOCKERFILE, TARGETS)).toEqual([]);
    expect(userProblems(broken(/USER 10001:10001\n# No HEALTHCHECK/, '# No HEALTHCHECK'), TARGETS)).toEqual([
      'target runtime runs as root; give it USER <uid>:<gid>, not root',
    ]);
    expect(
      userProblems(broken(/USER 10001:10001\n\n# The default target/, '\n# The default target'), TARGETS),
    ).toEqual(['target pytorch runs as root; give it USER <uid>:<gid>, not root']);
    expect(userProblems(broken('USER 10001:10001\n# No', 'USER galen\n# No'), TARGETS)).toContainEqual(
      'target runtime runs as galen; give it USER <uid>:<gid>, not root',
    );
    expect(userProblems(`${DOCKERFILE}\nFROM base AS debug\n`, TARGETS)).toEqual([
      'the last stage (what a plain docker build makes) must be runtime',
    ]);
  });

  it("exposes Galen's default HTTP and gRPC ports and starts galen under tini", () => {
    const config = loadConfig({ env: {} });
    const { ports, entrypoint } = runtimeOf(DOCKERFILE);
    expect(ports.sort()).toEqual([config.port, config.grpc.port].sort());
    expect(entrypoint).toBe('["/usr/bin/tini", "--", "galen"]');
  });

  it("installs dependencies with an npm that applies package.json's allowScripts", () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
      allowScripts: Record<string, boolean>;
    };
    expect(pkg.allowScripts['onnxruntime-node']).toBe(false);
    expect(npmProblems(DOCKERFILE)).toEqual([]);
    expect(npmProblems(broken('ARG NPM_VERSION=11.19.1', 'ARG NPM_VERSION=10.9.2'))).toEqual([
      'NPM_VERSION 10.9.2: allowScripts needs npm 11.19 or later',
    ]);
    expect(
      npmProblems(broken('npm ci --ignore-scripts --no-audit --no-fund && npm rebuild', 'npm ci')),
    ).toEqual(['npm ci must run with --ignore-scripts, then npm rebuild (the allowed install scripts)']);
  });

  it('copies only files that exist and that .dockerignore lets into the build context', () => {
    expect(contextProblems(DOCKERFILE, DOCKERIGNORE, ROOT)).toEqual([]);
    expect(contextProblems(DOCKERFILE, DOCKERIGNORE.replace('!python/\n', ''), ROOT)).toEqual([
      expect.stringMatching(/COPY python, which .dockerignore leaves out/),
    ]);
    expect(contextProblems(broken('COPY proto ./proto', 'COPY protos ./proto'), DOCKERIGNORE, ROOT)).toEqual([
      expect.stringMatching(/COPY protos, which does not exist/),
      expect.stringMatching(/COPY protos, which .dockerignore leaves out/),
    ]);
  });
});
