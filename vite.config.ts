// Builds the browser app from client/ into dist/client. Asset URLs are relative ("./") so the
// app works under any base path behind a reverse proxy.
import { defineConfig } from 'vite';

export default defineConfig({
  root: 'client',
  base: './',
  build: { outDir: '../dist/client', emptyOutDir: true, sourcemap: true },
  server: { proxy: { '/api': 'http://localhost:8080', '/ws': { target: 'ws://localhost:8080', ws: true } } },
});
