/**
 * Bundles one entry into a single classic script (IIFE) in memory, for code
 * that must run where a module cannot: a service worker on browsers without
 * module service workers, a worker started from a Blob URL on a file:// page.
 */
import { build, type Rolldown } from 'vite';

export interface ClassicScriptOptions {
  /** The project root (for resolving the entry and its imports). */
  root: string;
  /** Identifiers replaced at build time, as in Vite's `define`. */
  define?: Record<string, string>;
}

/** The minified code of `entry` and everything it imports, dynamic imports included, as one IIFE. */
export async function bundleClassicScript(entry: string, options: ClassicScriptOptions): Promise<string> {
  const result = await build({
    configFile: false,
    root: options.root,
    publicDir: false,
    logLevel: 'warn',
    mode: 'production',
    define: options.define,
    build: {
      write: false,
      target: 'es2022',
      minify: true,
      sourcemap: false,
      modulePreload: false,
      reportCompressedSize: false,
      rolldownOptions: {
        input: entry,
        output: { format: 'iife', codeSplitting: false },
        onLog(level, log, forward) {
          if (log.code === 'EMPTY_IMPORT_META') {
            // Vite's preload helper wraps each dynamic import; with code splitting off it has nothing
            // to preload and never reads import.meta. Anywhere else, an empty import.meta is a bug.
            if (log.id?.includes('vite/preload-helper')) return;
            forward('error', log);
            return;
          }
          forward(level, log);
        },
      },
    },
  });
  const outputs = (Array.isArray(result) ? result : [result]) as Rolldown.RolldownOutput[];
  const chunks = outputs.flatMap((output) => output.output).filter((item): item is Rolldown.OutputChunk => item.type === 'chunk');
  if (chunks.length !== 1) throw new Error(`Bundling ${entry} as a classic script gave ${chunks.length} chunks, expected 1`);
  return chunks[0].code;
}
