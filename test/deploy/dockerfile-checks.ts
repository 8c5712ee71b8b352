/**
 * Checks on the Dockerfile that need no Docker engine (CI has none): dockerfile-utils' linter,
 * then what it does not see: stage references, pinned base images, a non-root user in every
 * target, no downloads by ADD, the ports Galen listens on, npm's install-script policy, and build
 * context files the .dockerignore lets through. Each check returns its problems as sentences.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { validate } from 'dockerfile-utils';

/** One instruction, continuation lines joined, with the line it starts on. */
export interface Instruction {
  readonly line: number;
  readonly keyword: string;
  readonly args: string;
}

/** The instructions of a Dockerfile (comments and parser directives left out). */
export function instructions(dockerfile: string): Instruction[] {
  const out: Instruction[] = [];
  let pending: { line: number; text: string } | undefined;
  dockerfile.split('\n').forEach((raw, i) => {
    const line = raw.trim();
    if (pending === undefined && (line === '' || line.startsWith('#'))) return;
    if (pending !== undefined && line.startsWith('#')) return;
    const text = line.endsWith('\\') ? line.slice(0, -1) : line;
    pending = pending === undefined ? { line: i + 1, text } : { ...pending, text: `${pending.text} ${text}` };
    if (line.endsWith('\\')) return;
    const [keyword = '', ...rest] = pending.text.split(/\s+/);
    out.push({ line: pending.line, keyword: keyword.toUpperCase(), args: rest.join(' ') });
    pending = undefined;
  });
  return out;
}

/** dockerfile-utils' diagnostics, as `line: message`. */
export function lintProblems(dockerfile: string): string[] {
  return validate(dockerfile).map(
    (d) => `line ${d.range.start.line + 1}: ${typeof d.message === 'string' ? d.message : d.message.value}`,
  );
}

interface Stage {
  readonly name: string | undefined;
  readonly from: string;
  readonly line: number;
  readonly body: Instruction[];
}

/** The stages, each FROM's image with the global ARG defaults put in. */
function stages(all: readonly Instruction[]): Stage[] {
  const args = new Map<string, string>();
  const out: Stage[] = [];
  for (const ins of all) {
    if (ins.keyword === 'ARG' && out.length === 0) {
      const [name = '', value] = ins.args.split('=');
      if (value !== undefined) args.set(name, value);
    } else if (ins.keyword === 'FROM') {
      const words = ins.args.split(/\s+/).filter((w) => !w.startsWith('--'));
      const from = words[0]!.replace(/\$\{?(\w+)\}?/g, (_, name: string) => args.get(name) ?? `\${${name}}`);
      out.push({
        name: words[1]?.toUpperCase() === 'AS' ? words[2] : undefined,
        from,
        line: ins.line,
        body: [],
      });
    } else {
      out.at(-1)?.body.push(ins);
    }
  }
  return out;
}

/** `COPY --from` and `FROM <stage>` name earlier stages; base images are pinned; no ADD of URLs. */
export function stageProblems(dockerfile: string): string[] {
  const problems: string[] = [];
  const all = stages(instructions(dockerfile));
  all.forEach((stage, i) => {
    const earlier = new Set(all.slice(0, i).map((s) => s.name));
    if (stage.name !== undefined && earlier.has(stage.name))
      problems.push(`line ${stage.line}: stage ${stage.name} is named twice`);
    if (!earlier.has(stage.from)) {
      const tag = /^[^@]+:([^/:@]+)$/.exec(stage.from)?.[1];
      if (tag === undefined || tag === 'latest' || !/\d/.test(tag))
        problems.push(`line ${stage.line}: base image ${stage.from} must be pinned by a version tag`);
    }
    for (const ins of stage.body) {
      const from = /--from=(\S+)/.exec(ins.args)?.[1];
      if (from !== undefined && !earlier.has(from))
        problems.push(`line ${ins.line}: ${ins.keyword} --from=${from} names no earlier stage`);
      if (ins.keyword === 'ADD' && /(^|\s)(https?|git)[:@]/.test(ins.args))
        problems.push(
          `line ${ins.line}: ADD downloads ${ins.args}; fetch and check it in a RUN step instead`,
        );
    }
  });
  return problems;
}

/**
 * The user a target runs as: its last USER, or its parent stage's. Non-root means a numeric UID
 * other than 0 (Kubernetes' runAsNonRoot can only check a number).
 */
export function userProblems(dockerfile: string, targets: readonly string[]): string[] {
  const all = stages(instructions(dockerfile));
  const userOf = (stage: Stage | undefined): string | undefined => {
    if (!stage) return undefined;
    const user = stage.body.filter((i) => i.keyword === 'USER').at(-1)?.args;
    return user ?? userOf(all.find((s) => s.name === stage.from));
  };
  const problems: string[] = [];
  if (all.at(-1)?.name !== targets[0])
    problems.push(`the last stage (what a plain docker build makes) must be ${targets[0]}`);
  for (const target of targets) {
    const stage = all.find((s) => s.name === target);
    if (!stage) {
      problems.push(`no stage ${target}`);
      continue;
    }
    const user = userOf(stage);
    const uid = user?.split(':')[0];
    if (uid === undefined || !/^\d+$/.test(uid) || Number(uid) === 0)
      problems.push(`target ${target} runs as ${user ?? 'root'}; give it USER <uid>:<gid>, not root`);
  }
  return problems;
}

/** Ports EXPOSEd by the last stage's line of descent, and its ENTRYPOINT. */
export function runtimeOf(dockerfile: string): { ports: number[]; entrypoint: string | undefined } {
  const all = stages(instructions(dockerfile));
  const chain: Stage[] = [];
  for (let s = all.at(-1); s; s = all.find((x) => x.name === s.from)) chain.unshift(s);
  const body = chain.flatMap((s) => s.body);
  return {
    ports: body
      .filter((i) => i.keyword === 'EXPOSE')
      .flatMap((i) => i.args.split(/\s+/).map((p) => parseInt(p, 10))),
    entrypoint: body.filter((i) => i.keyword === 'ENTRYPOINT').at(-1)?.args,
  };
}

/**
 * Dependencies are installed by an npm that applies package.json's allowScripts (npm ≥ 11.19,
 * installed before `npm ci`), and `npm ci` runs no script itself (the package's own `prepare`
 * needs the sources; `npm rebuild` runs the allowed ones after).
 */
export function npmProblems(dockerfile: string): string[] {
  const all = instructions(dockerfile);
  const problems: string[] = [];
  const version = all
    .find((i) => i.keyword === 'ARG' && i.args.startsWith('NPM_VERSION='))
    ?.args.split('=')[1];
  const [major = 0, minor = 0] = (version ?? '').split('.').map(Number);
  if (major < 11 || (major === 11 && minor < 19))
    problems.push(`NPM_VERSION ${version ?? '(unset)'}: allowScripts needs npm 11.19 or later`);
  const runs = all.filter((i) => i.keyword === 'RUN');
  const upgrade = runs.findIndex((i) => /npm install -g npm@\$\{?NPM_VERSION\}?/.test(i.args));
  const ci = runs.findIndex((i) => /\bnpm ci\b/.test(i.args));
  if (ci < 0) problems.push('no RUN npm ci');
  else if (upgrade < 0 || upgrade > ci) problems.push('npm is not upgraded to NPM_VERSION before npm ci');
  else if (!/npm ci [^&]*--ignore-scripts[^&]*&& npm rebuild/.test(runs[ci]!.args))
    problems.push('npm ci must run with --ignore-scripts, then npm rebuild (the allowed install scripts)');
  return problems;
}

/**
 * Files the Dockerfile copies from the build context exist and are let through by .dockerignore
 * (which ignores everything, `*`, and lets paths back in with `!path`).
 */
export function contextProblems(dockerfile: string, dockerignore: string, root: string): string[] {
  const allowed = dockerignore
    .split('\n')
    .filter((l) => l.startsWith('!'))
    .map((l) => l.slice(1).replace(/\/$/, ''));
  const problems: string[] = [];
  if (!dockerignore.split('\n').includes('*'))
    problems.push('.dockerignore must start from `*` (ignore everything)');
  for (const ins of instructions(dockerfile)) {
    if ((ins.keyword !== 'COPY' && ins.keyword !== 'ADD') || ins.args.includes('--from=')) continue;
    const words = ins.args.split(/\s+/).filter((w) => !w.startsWith('--'));
    for (const source of words.slice(0, -1).map((w) => w.replace(/^\.\//, '').replace(/\/$/, ''))) {
      if (!existsSync(join(root, source)))
        problems.push(`line ${ins.line}: COPY ${source}, which does not exist`);
      if (!allowed.some((a) => source === a || source.startsWith(`${a}/`)))
        problems.push(`line ${ins.line}: COPY ${source}, which .dockerignore leaves out of the context`);
    }
  }
  return problems;
}
