// Bundles the console into dist/: hashed assets with .br and .gz twins, and index.html pointing at them.
// Files whose bytes did not change are left alone (so the component that embeds them is not rebuilt),
// and files no build made any more are removed.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, extname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { brotliCompressSync, constants, gzipSync } from 'node:zlib';
import * as esbuild from 'esbuild';

const root = dirname(fileURLToPath(import.meta.url));
const dist = join(root, 'dist');
const assets = join(dist, 'assets');
const dev = process.argv.includes('--dev');

mkdirSync(assets, { recursive: true });

/** Every file this build made, relative to dist/. */
const made = new Set();

/** Writes `bytes` to `file` under dist/ unless it already holds them; true if it wrote. */
function put(file, bytes) {
  made.add(relative(dist, file));
  if (existsSync(file) && readFileSync(file).equals(Buffer.from(bytes))) return false;
  writeFileSync(file, bytes);
  return true;
}

const result = await esbuild.build({
  absWorkingDir: root,
  entryPoints: [
    { in: 'src/main.ts', out: 'app' },
    { in: 'src/styles/app.css', out: 'app' },
  ],
  outdir: assets,
  entryNames: '[name]-[hash]',
  chunkNames: '[name]-[hash]',
  assetNames: '[name]-[hash]',
  bundle: true,
  splitting: true,
  format: 'esm',
  target: ['es2022', 'chrome100', 'firefox100', 'safari15.4'],
  minify: !dev,
  sourcemap: dev ? 'linked' : false,
  metafile: true,
  write: false,
  logLevel: 'warning',
});
const written = new Set();
for (const file of result.outputFiles) {
  if (put(file.path, file.contents)) written.add(file.path);
}

// The file esbuild made for one entry point, as a URL path under /assets/.
const outputs = Object.entries(result.metafile.outputs);
function entryUrl(entry, ext) {
  const found = outputs.find(([file, out]) => out.entryPoint === entry && file.endsWith(ext));
  if (!found) throw new Error(`esbuild made no ${ext} output for ${entry}`);
  return `/assets/${basename(found[0])}`;
}

// The entry's static imports (shared chunks), fetched alongside it rather than after it.
function preloads(entry) {
  const [, out] = outputs.find(([file, o]) => o.entryPoint === entry && file.endsWith('.js'));
  return out.imports
    .filter((i) => i.kind === 'import-statement')
    .map((i) => `<link rel="modulepreload" href="/assets/${basename(i.path)}">`)
    .join('\n');
}

// Files copied as they are, named by their content hash.
function copyHashed(source) {
  const bytes = readFileSync(join(root, source));
  const hash = createHash('sha256').update(bytes).digest('hex').slice(0, 8);
  const name = `${basename(source, extname(source))}-${hash}${extname(source)}`;
  if (put(join(assets, name), bytes)) written.add(join(assets, name));
  return `/assets/${name}`;
}

const replacements = {
  '/src/main.ts': entryUrl('src/main.ts', '.js'),
  '/src/styles/app.css': entryUrl('src/styles/app.css', '.css'),
  '/src/icon.svg': copyHashed('src/icon.svg'),
};
let html = readFileSync(join(root, 'index.html'), 'utf8');
for (const [from, to] of Object.entries(replacements)) {
  const attr = new RegExp(`(src|href)="${from.replace(/[.]/g, '\\.')}"`, 'g');
  const count = html.match(attr)?.length ?? 0;
  if (count !== 1) throw new Error(`index.html must reference ${from} exactly once (found ${count})`);
  html = html.replace(attr, `$1="${to}"`);
}
const preload = preloads('src/main.ts');
if (preload) html = html.replace('<script type="module"', `${preload}\n<script type="module"`);
if (!html.includes('<meta name="chatcode-config" content="%CHATCODE_CONFIG%">')) {
  throw new Error('index.html lost its chatcode-config placeholder');
}
if (/<script(?![^>]*\bsrc=)|\son[a-z]+=|\sstyle=/i.test(html)) {
  throw new Error('index.html must not hold inline scripts, event handlers or style attributes');
}
put(join(dist, 'index.html'), html);

// Precompressed twins for the server to pick by Accept-Encoding.
const rows = [];
for (const name of readdirSync(assets).sort()) {
  const file = join(assets, name);
  if (name.endsWith('.br') || name.endsWith('.gz') || !made.has(relative(dist, file))) continue;
  const raw = readFileSync(file);
  if (!written.has(file) && existsSync(`${file}.br`) && existsSync(`${file}.gz`)) {
    made.add(relative(dist, `${file}.br`));
    made.add(relative(dist, `${file}.gz`));
    rows.push([relative(dist, file), raw.length, readFileSync(`${file}.gz`).length, readFileSync(`${file}.br`).length]);
    continue;
  }
  const br = brotliCompressSync(raw, {
    params: {
      [constants.BROTLI_PARAM_QUALITY]: 11,
      [constants.BROTLI_PARAM_MODE]: constants.BROTLI_MODE_TEXT,
      [constants.BROTLI_PARAM_SIZE_HINT]: raw.length,
    },
  });
  const gz = gzipSync(raw, { level: 9 });
  put(`${file}.br`, br);
  put(`${file}.gz`, gz);
  rows.push([relative(dist, file), raw.length, gz.length, br.length]);
}

// What an earlier build made and this one did not.
for (const name of readdirSync(assets)) {
  if (!made.has(relative(dist, join(assets, name)))) rmSync(join(assets, name));
}

const kib = (n) => `${(n / 1024).toFixed(1)} KiB`.padStart(10);
const total = rows.reduce((t, r) => [t[0], t[1] + r[1], t[2] + r[2], t[3] + r[3]], ['total', 0, 0, 0]);
console.log(`${'file'.padEnd(36)}${'raw'.padStart(10)}${'gzip'.padStart(10)}${'brotli'.padStart(10)}`);
for (const [name, raw, gz, br] of [...rows, total]) {
  console.log(`${String(name).padEnd(36)}${kib(raw)}${kib(gz)}${kib(br)}`);
}
