// Where the benchmarks read ../shared/fixtures: GATEKEEPER_SHARED, or ../shared beside the repository.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export function sharedDir(): string {
  if (process.env.GATEKEEPER_SHARED) return process.env.GATEKEEPER_SHARED;
  let dir = path.dirname(fileURLToPath(import.meta.url));
  while (!fs.existsSync(path.join(dir, 'package.json'))) {
    const up = path.dirname(dir);
    if (up === dir) throw new Error('repository root not found; set GATEKEEPER_SHARED');
    dir = up;
  }
  return path.resolve(dir, '../shared');
}
