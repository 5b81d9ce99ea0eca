import { resolve } from 'node:path';
import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

const root = import.meta.dirname;

/**
 * The admin portal (/admin/) and the user portal (/portal/): one build, two pages, written to
 * dist/web where `roster serve` finds them. Everything they load is in the build (fonts included);
 * nothing comes from the network.
 */
export default defineConfig({
  root,
  base: '/',
  plugins: [react()],
  logLevel: 'warn',
  build: {
    outDir: resolve(root, '..', 'dist', 'web'),
    emptyOutDir: true,
    assetsInlineLimit: 0,
    chunkSizeWarningLimit: 1024,
    rolldownOptions: {
      input: { admin: resolve(root, 'admin', 'index.html'), portal: resolve(root, 'portal', 'index.html') },
    },
  },
});
