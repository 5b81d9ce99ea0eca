import { execFileSync } from 'node:child_process';
import { join } from 'node:path';

/** End-to-end tests run the real `roster` binary, which runs from dist/: build it once per run. */
export default function setup(): void {
  const root = join(import.meta.dirname ?? new URL('.', import.meta.url).pathname, '..', '..');
  execFileSync(join(root, 'node_modules', '.bin', 'tsc'), ['-p', 'tsconfig.build.json'], { cwd: root, stdio: 'inherit' });
  // The portals (web/), which `roster serve` serves from dist/web.
  // A production build, as `npm run build` makes: vitest sets NODE_ENV=test, which would give React's development build.
  execFileSync(join(root, 'node_modules', '.bin', 'vite'), ['build', '--config', 'web/vite.config.ts'], { cwd: root, stdio: 'inherit', env: { ...process.env, NODE_ENV: 'production' } });
}
