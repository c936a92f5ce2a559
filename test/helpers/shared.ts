// Where the read-only shared folder (DESIGN.md, fixtures) is: beside the repository, as in CI.
import { fileURLToPath } from 'node:url';
import path from 'node:path';

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const SHARED_DIR = process.env.GATEKEEPER_SHARED ?? path.resolve(REPO_ROOT, '../shared');
export const FIXTURES_DIR = path.join(SHARED_DIR, 'fixtures');
