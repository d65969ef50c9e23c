import { defineConfig } from 'vite';

// Served by the API binary under /console/ (src/console/mod.rs). Hashed file names let the
// server cache assets for a year; the build must be reproducible byte for byte, since the
// output in dist/ is committed and CI rebuilds it to compare.
export default defineConfig({
  base: '/console/',
  esbuild: { jsx: 'automatic', jsxImportSource: 'preact' },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    assetsDir: 'assets',
    sourcemap: false,
    modulePreload: { polyfill: false },
    target: 'es2022',
  },
  server: { proxy: { '/v1': 'http://127.0.0.1:8080' } },
});
