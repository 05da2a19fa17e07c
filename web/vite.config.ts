import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';

// In development the API is the inbox service on :8081; in production the inbox serves dist/.
export default defineConfig({
  plugins: [react()],
  server: { proxy: { '/api': 'http://127.0.0.1:8081' } },
  // The first-load budget is checked by scripts/bundle-size.mjs (200 kB gzip), not by Vite's
  // per-chunk warning, which counts bytes before compression.
  build: { outDir: 'dist', sourcemap: false, chunkSizeWarningLimit: 700 },
  test: { environment: 'jsdom', globals: true, include: ['src/**/*.test.{ts,tsx}'] },
});
