// Runs the Python client (src/sdk/python/gatekeeper_client.py) with Debian's own interpreter: the
// python3 first on a developer's PATH (pyenv, venv) lacks the apt packages.
import { execFile } from 'node:child_process';
import path from 'node:path';
import { REPO_ROOT } from '../helpers/shared.js';

export const PYTHON = '/usr/bin/python3';
export const PY_CLIENT = path.join(REPO_ROOT, 'src', 'sdk', 'python', 'gatekeeper_client.py');
const HINT = "install Debian's python3-grpcio and python3-cryptography (`apt-get install python3-grpcio python3-cryptography`, as .ci/apt-packages does)";

export interface PyRun { code: number; stdout: string; stderr: string }

/** Fails (never skips) with the install hint when the client says a Debian package is missing (exit 3). */
export function runPython(args: string[]): Promise<PyRun> {
  return new Promise((resolve, reject) => {
    execFile(PYTHON, [PY_CLIENT, ...args], { timeout: 45_000, maxBuffer: 4 << 20 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
      if (code === 3) reject(new Error(`the Python client lacks its packages: ${HINT}\n${stderr}`));
      else resolve({ code, stdout, stderr: err && typeof err.code !== 'number' ? `${err.message}\n${stderr}` : stderr });
    });
  });
}
