// Starts `lookahead serve --port 0 ...` as a child process for the
// benchmarks, waits for /health 200, and stops it with SIGTERM.
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
export const root = path.resolve(here, '../../..');
export const cli = process.env.LOOKAHEAD_CLI ?? path.join(root, 'build/lookahead');
export const shared = process.env.LOOKAHEAD_SHARED_DIR ?? path.resolve(root, '../shared');
export const modelPath = path.join(shared, 'models/stories260K.gguf');
export const chatTemplate = path.join(shared, 'templates/mistralai-Mistral-Nemo-Instruct-2407.jinja');

export async function startServer(args) {
  const child = spawn(cli, ['serve', '--port', '0', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  const url = await new Promise((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
      const m = out.match(/listening on (http:\S+)/);
      if (m) resolve(m[1]);
    });
    child.on('exit', (code) => reject(new Error(`server exited ${code}: ${stderr}`)));
  });
  const deadline = Date.now() + 20_000;
  while ((await fetch(url + '/health').then((r) => r.status, () => 0)) !== 200) {
    if (Date.now() > deadline) throw new Error('server not healthy');
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    url,
    log: () => stderr,
    stop: () =>
      new Promise((resolve) => {
        child.once('exit', (code) => resolve(code));
        child.kill('SIGTERM');
      }),
  };
}

export function percentile(sorted, p) {
  if (!sorted.length) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i];
}
