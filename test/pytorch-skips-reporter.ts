/**
 * A Vitest reporter that ends a run by saying which tests were skipped because the PyTorch
 * backend is missing, and why, so a contributor without it sees what was not tested.
 */
import { relative } from 'node:path';
import type { Reporter, TestModule } from 'vitest/node';
import { PYTORCH_SKIP_NOTE } from './helpers/pytorch.js';

export default class PyTorchSkipsReporter implements Reporter {
  onTestRunEnd(testModules: ReadonlyArray<TestModule>): void {
    const skipped: string[] = [];
    const reasons = new Set<string>();
    for (const module of testModules) {
      for (const test of module.children.allTests()) {
        const result = test.result();
        if (result.state !== 'skipped' || !result.note?.startsWith(PYTORCH_SKIP_NOTE)) continue;
        skipped.push(`  ${relative(process.cwd(), module.moduleId)} > ${test.fullName}`);
        reasons.add(
          result.note
            .slice(PYTORCH_SKIP_NOTE.length)
            .trim()
            .replace(/^\((.*)\)$/, '$1'),
        );
      }
    }
    if (skipped.length === 0) return;
    process.stderr.write(
      `\nPyTorch backend not found (${[...reasons].join('; ')}): ${skipped.length} test(s) skipped:\n` +
        `${skipped.join('\n')}\n` +
        'Install it (apt-get install -y python3-torch python3-onnx, or pip install torch onnx numpy; ' +
        'GALEN_PYTHON names another Python), or set GALEN_REQUIRE_PYTORCH=1 to fail instead of skipping.\n\n',
    );
  }
}
