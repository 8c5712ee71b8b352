/**
 * PyTorch as an independent reference for deep-model tests. The server is given a "python" that
 * runs Galen's trainer unchanged, except that when it exports the ONNX it also saves the trained
 * network's spec and weights (state_dict) into a folder the test owns. The test then has PyTorch
 * itself (a separate python3, the network rebuilt from those weights) compute outputs on inputs
 * the test chooses, and compares them with what Galen serves from the registered version: a check
 * that owes nothing to the job's own parity figure.
 */
import { spawn } from 'node:child_process';
import { chmod, mkdir, mkdtemp, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TRAINER_SCRIPT, probePyTorch } from '../../src/deep/pytorch-backend.js';

/** One input of the exported network, in the order it was exported. */
export interface ReferenceInput {
  datatype: 'FP32' | 'INT64';
  shape: number[];
  data: number[];
}

export interface PyTorchReference {
  /** The `jobs.python` to give the server: the trainer, saving what it exported. */
  readonly python: string;
  /** The weights saved by the last export since the previous call (fails when there is none, or several). */
  takeExport(): Promise<string>;
  /** PyTorch's outputs ("probabilities", flattened) of the saved network on `inputs`. */
  outputs(saved: string, inputs: readonly ReferenceInput[]): Promise<number[]>;
  close(): Promise<void>;
}

const CAPTURE_PY = `
import os, sys, time
sys.path.insert(0, os.path.dirname(sys.argv[1]))
import galen_trainer
import torch

captured = {}
build_model = galen_trainer.build_model
def capturing_build_model(spec, torch_module):
    captured['spec'] = spec
    return build_model(spec, torch_module)
galen_trainer.build_model = capturing_build_model

onnx_export = torch.onnx.export
def capturing_export(model, args, f, *rest, **kw):
    onnx_export(model, args, f, *rest, **kw)
    name = os.path.join(OUT, '%d-%d.pt' % (time.time_ns(), os.getpid()))
    torch.save({'spec': captured['spec'], 'state': model.state_dict()}, name + '.part')
    os.rename(name + '.part', name)
torch.onnx.export = capturing_export

sys.exit(galen_trainer.main(sys.argv[2:]))
`;

const REFERENCE_PY = `
import json, os, sys
sys.path.insert(0, os.path.dirname(sys.argv[1]))
import galen_trainer
import torch

saved = torch.load(sys.argv[2])
_, exported = galen_trainer.build_model(saved['spec'], torch)
exported.load_state_dict(saved['state'])
exported.eval()
dtypes = {'FP32': torch.float32, 'INT64': torch.int64}
inputs = [torch.tensor(i['data'], dtype=dtypes[i['datatype']]).reshape(i['shape']) for i in json.load(sys.stdin)]
with torch.no_grad():
    out = exported(*inputs)
print(json.dumps(out.double().flatten().tolist()))
`;

function run(command: string, args: readonly string[], stdin: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (s: string) => (stdout += s));
    child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
    child.on('error', reject);
    child.on('close', (code) =>
      code === 0 ? resolve(stdout) : reject(new Error(`${command} exited ${code}: ${stderr}`)),
    );
    child.stdin.end(stdin);
  });
}

/** Sets up the capturing trainer for the Python the backend probe finds; call only when it is available. */
export async function pytorchReference(): Promise<PyTorchReference> {
  const backend = await probePyTorch(process.env['GALEN_PYTHON']);
  if (!backend.available) throw new Error(`no PyTorch backend: ${backend.reason}`);
  const dir = await mkdtemp(join(tmpdir(), 'galen-pytorch-reference-'));
  const out = join(dir, 'exports');
  await writeFile(join(dir, 'capture.py'), `OUT = ${JSON.stringify(out)}\n${CAPTURE_PY}`);
  await writeFile(join(dir, 'reference.py'), REFERENCE_PY);
  await mkdir(out);
  // Galen starts its Python as \`<python> -u <trainer> <args…>\`: the wrapper keeps the trainer's path.
  const python = join(dir, 'python');
  await writeFile(
    python,
    `#!/bin/sh\n[ "$1" = "-u" ] && shift\nexec ${JSON.stringify(backend.python)} -u ${JSON.stringify(join(dir, 'capture.py'))} "$@"\n`,
  );
  await chmod(python, 0o755);
  return {
    python,
    async takeExport() {
      const files = (await readdir(out)).filter((f) => f.endsWith('.pt'));
      if (files.length !== 1) throw new Error(`expected one saved export, found ${files.length}`);
      const taken = join(dir, `taken-${files[0]!}`);
      await rename(join(out, files[0]!), taken);
      return taken;
    },
    async outputs(saved, inputs) {
      const text = await run(
        backend.python,
        [join(dir, 'reference.py'), TRAINER_SCRIPT, saved],
        JSON.stringify(inputs),
      );
      return JSON.parse(text) as number[];
    },
    close: () => rm(dir, { recursive: true, force: true }),
  };
}
