// Build configuration of the studio. The output in dist/ is embedded into the motiond
// binary (crates/motiond/src/studio.rs), which serves index.html for client-side routes
// and long-lived caching for the content-hashed files under /assets/.
import { defineConfig } from 'vite';

export default defineConfig({
  base: '/',
  build: {
    outDir: 'dist',
    assetsDir: 'assets',
    emptyOutDir: true,
    target: 'es2022',
    // three.js alone is ~600 kB minified; one chunk is fine for a single-page studio.
    chunkSizeWarningLimit: 1500,
    sourcemap: false,
  },
  server: {
    // `npm run dev` against a local `motiond serve` on the default port.
    proxy: {
      '/v1': 'http://127.0.0.1:8080',
      '/files': 'http://127.0.0.1:8080',
    },
  },
});
