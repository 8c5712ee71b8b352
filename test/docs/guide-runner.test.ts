/** The guide runner's reading of Markdown and its comparison of shown and printed output. */
import { describe, expect, it } from 'vitest';
import {
  guideScript,
  guideSteps,
  jsonDifferences,
  localise,
  splitOutput,
  textDifferences,
} from '../helpers/guide-runner.js';

const GUIDE = [
  '# A guide',
  '',
  '<!-- guide: skip — starts the server -->',
  '```sh',
  'npm start',
  '```',
  '',
  '```sh',
  'curl -s localhost:8080/v2 -H "Authorization: Bearer $(cat .galen/admin.key)"',
  '```',
  '',
  '```json',
  '{"name": "galen", "ratio": 0.126}',
  '```',
  '',
  '```sh',
  'echo done',
  '```',
].join('\n');

describe('the guide runner', () => {
  it('runs sh blocks not marked skip, each with the output block shown after it', () => {
    const steps = guideSteps(GUIDE);
    expect(steps.map((s) => s.block.line)).toEqual([8, 16]);
    expect(steps[0]!.shown?.code).toBe('{"name": "galen", "ratio": 0.126}');
    expect(steps[1]!.shown).toBeUndefined();
  });

  it('changes only the documented addresses and the data folder', () => {
    const at = { http: '127.0.0.1:4321', grpc: '127.0.0.1:4322', dataDir: '/tmp/d' };
    expect(localise('curl localhost:8080/x; grpc 127.0.0.1:8081; cat .galen/admin.key', at)).toBe(
      'curl 127.0.0.1:4321/x; grpc 127.0.0.1:4322; cat /tmp/d/admin.key',
    );
    expect(localise('port 18080 and my.galen/x', at)).toBe('port 18080 and my.galen/x');
  });

  it("splits the script's output by step", () => {
    const steps = guideSteps(GUIDE);
    const script = guideScript(steps, { http: 'h:1', grpc: 'h:2', dataDir: '/d' });
    expect(script).toContain('curl -s h:1/v2');
    const stdout = '\n@@galen-guide-step 0@@\n{"a":1}\n@@galen-guide-step 1@@\ndone\n';
    expect(splitOutput(stdout, 2)).toEqual(['{"a":1}', 'done\n']);
  });

  it('compares JSON to the decimals shown, with the same keys and lengths', () => {
    expect(jsonDifferences({ p: [0.126, 0.874] }, { p: [0.12634, 0.87366] })).toEqual([]);
    expect(jsonDifferences({ p: [0.126] }, { p: [0.1271] })).toEqual(['$.p[0]: shown 0.126, got 0.1271']);
    expect(jsonDifferences({ p: 1 }, { p: 1, q: 2 })).toEqual(['$.q: not shown']);
    expect(jsonDifferences({ p: [1, 2] }, { p: [1] })).toEqual(['$.p: shown 2 items, got 1']);
    expect(jsonDifferences({ s: 'a' }, { s: 'b' })).toEqual(['$.s: shown "a", got "b"']);
  });

  it('compares text line by line, … matching anything', () => {
    expect(textDifferences('model m:1 — …\nrows 3', 'model m:1 — linear (exact)\nrows 3\n')).toEqual([]);
    expect(textDifferences('rows 3', 'rows 4')).toEqual(['line 1: shown "rows 3", got "rows 4"']);
    expect(textDifferences('a\nb', 'a')).toContain('shown 2 lines, got 1');
  });
});
