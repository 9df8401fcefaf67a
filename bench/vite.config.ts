import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

/** The bench's baseline page, built apart from the app so the product carries no bench code. */
export default defineConfig({
  root: fileURLToPath(new URL('./browser/', import.meta.url)),
  base: './',
  build: { outDir: fileURLToPath(new URL('../dist-bench/', import.meta.url)), emptyOutDir: true },
});
