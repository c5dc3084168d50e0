import { defineConfig } from 'vite';

// `vite build client` (npm run build) writes client/dist, which the server serves at /.
// `npx vite client` serves the client with the API of a server on :8080 behind it.
export default defineConfig({
  root: import.meta.dirname,
  build: { outDir: 'dist', emptyOutDir: true, sourcemap: true, chunkSizeWarningLimit: 1200 },
  server: {
    proxy: {
      '/api': 'http://127.0.0.1:8080',
      '/gateway': { target: 'ws://127.0.0.1:8080', ws: true },
    },
  },
});
