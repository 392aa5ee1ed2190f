/**
 * The page's own files, served by acerelay (no CDN, no internet). The browser code is
 * TypeScript in ./client, type-checked with the rest of the project and bundled once, on first
 * request, with esbuild (already here: tsx runs on it), then kept in memory.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build, stop } from 'esbuild';

export interface Asset {
  body: string;
  type: string;
  etag: string;
}

const CLIENT_DIR = fileURLToPath(new URL('./client/', import.meta.url));
const BUNDLES: Record<string, string> = { 'inspector.js': 'main.ts', 'login.js': 'login.ts' };
const FILES: Record<string, string> = { 'inspector.css': 'text/css; charset=utf-8' };

let loaded: Promise<Map<string, Asset>> | null = null;

function make(body: string, type: string): Asset {
  return { body, type, etag: `"${createHash('sha1').update(body).digest('base64url')}"` };
}

async function load(): Promise<Map<string, Asset>> {
  const assets = new Map<string, Asset>();
  const out = await build({
    entryPoints: Object.fromEntries(Object.entries(BUNDLES).map(([name, entry]) => [name.replace(/\.js$/, ''), `${CLIENT_DIR}${entry}`])),
    outdir: 'inspector-assets',
    bundle: true,
    format: 'esm',
    target: 'es2022',
    platform: 'browser',
    write: false,
    charset: 'utf8',
    legalComments: 'none',
    logLevel: 'silent',
  }).finally(() => stop()); // esbuild's service is a child process: do not leave it running.
  for (const file of out.outputFiles) assets.set(basename(file.path), make(file.text, 'text/javascript; charset=utf-8'));
  for (const [name, type] of Object.entries(FILES)) assets.set(name, make(await readFile(`${CLIENT_DIR}${name}`, 'utf8'), type));
  return assets;
}

/** The asset called `name`, or null when there is none by that name. */
export async function inspectorAsset(name: string): Promise<Asset | null> {
  if (!Object.hasOwn(BUNDLES, name) && !Object.hasOwn(FILES, name)) return null;
  loaded ??= load().catch((err: unknown) => {
    loaded = null;
    throw err;
  });
  return (await loaded).get(name) ?? null;
}
