// docs/election-input.md and docs/operator-guide.md against the code: the nominations example is read
// by the CLI's reader, and every command the guide shows exists and answers --help with exit 0.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { readNominations } from '../../src/cli/election-input.js';
import { REPO_ROOT } from '../helpers/shared.js';
import { runCommand } from '../helpers/cli.js';
import type { Command } from '../../src/cli/main.js';

const doc = (name: string) => fs.readFileSync(path.join(REPO_ROOT, 'docs', name), 'utf8');

test('the nominations example of docs/election-input.md is a valid nominations file', () => {
  const block = doc('election-input.md').split('```json').map((b) => b.split('```')[0]!).find((b) => b.includes('gatekeeper-nominations/1'))!;
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'gk-doc-')), 'n.json');
  fs.writeFileSync(file, block);
  const n = readNominations(file);
  expect(n.map((x) => [x.voter, x.stake, x.targets.length])).toEqual([['alice', '500', 2], ['bob', '700', 1]]);
  // A misspelt field is refused, as the doc says.
  fs.writeFileSync(file, block.replace('"stake": "500"', '"stak": "500"'));
  expect(() => readNominations(file)).toThrow(/unknown field 'stak'/);
});

test('every command in docs/operator-guide.md exists and answers --help', async () => {
  const guide = doc('operator-guide.md');
  const used = new Set([...guide.matchAll(/^(?:# )?gatekeeper ([a-z-]+)(?: ([a-z-]+))?/gm)].map((m) => m[1]!));
  expect(used.size).toBeGreaterThanOrEqual(15);
  for (const name of used) {
    const mod = (await import(`../../src/cli/commands/${name}.js`)) as { default: Command };
    const r = await runCommand(mod.default, ['--help']);
    expect([name, r.code]).toEqual([name, 0]);
  }
});
