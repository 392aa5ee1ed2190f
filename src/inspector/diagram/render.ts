/**
 * DOT → SVG with @viz-js/viz: Graphviz compiled to WebAssembly, shipped inside the npm
 * package, so diagrams render offline, in-process, identically on every machine (it measures
 * text with built-in font metrics, not the system's fonts).
 */
import { instance, type Viz } from '@viz-js/viz';

let viz: Promise<Viz> | null = null;

export interface Rendered {
  svg: string;
  /** Graphviz warnings (an edge it could not clip, say): the drift test wants none. */
  warnings: string[];
}

export async function renderSvg(dot: string): Promise<Rendered> {
  viz ??= instance();
  const result = (await viz).render(dot, { format: 'svg' });
  const messages = result.errors.map((e) => `${e.level ?? 'error'}: ${e.message.trim()}`);
  if (result.status !== 'success') throw new Error(`graphviz could not render the diagram: ${messages.join('; ')}`);
  return { svg: result.output, warnings: messages };
}
