/**
 * The environment a child process of Galen starts with: the parent's, without Galen's settings.
 * `GALEN_*` variables carry the admin key, the master keys, the de-identification key file, OIDC
 * and CDS client settings; no child needs them from the environment (a job worker gets its
 * configuration over IPC, the PyTorch trainer a spec), and a child's environment is readable by
 * anything that can read `/proc/<pid>/environ` or that the child itself runs (a model's Python).
 */

/** Variables that hold secrets in common deployments, stripped whatever their prefix. */
const SECRET_NAMES = /^(GALEN_|.*_(SECRET|TOKEN|PASSWORD|PRIVATE_KEY)$)/i;

/**
 * `env` without any `GALEN_*` variable or variable named like a secret (`*_SECRET`, `*_TOKEN`,
 * `*_PASSWORD`, `*_PRIVATE_KEY`).
 * @example spawn(python, args, { env: childEnvironment() })
 */
export function childEnvironment(env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const out: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(env)) {
    if (value !== undefined && !SECRET_NAMES.test(name)) out[name] = value;
  }
  return out;
}
