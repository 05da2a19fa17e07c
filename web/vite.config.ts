import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';

// In development the API is the inbox service on :8081; in production the inbox serves dist/.
export default defineConfig({
  plugins: [react()],
  server: { proxy: { '/api': 'http://127.0.0.1:8081' } },
  build: { outDir: 'dist', sourcemap: false },
  test: { environment: 'jsdom', globals: true, include: ['src/**/*.test.{ts,tsx}'] },
});
