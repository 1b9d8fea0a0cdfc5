/**
 * Renderers: a figure as an HTML snippet (for notebooks and reports), as a standalone
 * self-contained HTML page (plotly inlined, works offline), and as a PNG through headless Chromium.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync, mkdirSync, renameSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import type { Figure } from './figure';

let bundle: string | undefined;

/** The plotly.js-dist-min bundle, read once. */
export function plotlyBundle(): string {
  if (bundle === undefined) {
    // The package's main file is the minified bundle itself.
    const text = readFileSync(require.resolve('plotly.js-dist-min'), 'utf8');
    // A literal "</script" would end the inline script early.
    bundle = text.replace(/<\/script/gi, '<\\/script');
  }
  return bundle;
}

/** A <script> element that defines window.Plotly. */
export function plotlyScriptTag(): string {
  return `<script type="text/javascript">${plotlyBundle()}</script>`;
}

export function escapeHtml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** JSON that is safe inside a <script> element. */
function scriptJson(value: unknown): string {
  return JSON.stringify(value).replace(/</g, '\\u003c');
}

let nextId = 0;

export interface TableOptions {
  /** Columns in order (default: the first record's keys). */
  columns?: string[];
  caption?: string;
  /** Decimals of non-integer numbers (default 3). */
  digits?: number;
}

/** Formats a cell: numbers with `digits` significant decimals, NaN as "NaN". */
function formatCell(value: unknown, digits: number): string {
  if (typeof value === 'number') {
    if (Number.isNaN(value)) return 'NaN';
    return Number.isInteger(value) ? String(value) : value.toFixed(digits);
  }
  return value === undefined || value === null ? '' : String(value);
}

/** An HTML table of records (columns from the first record unless given). */
export function tableHtml(rows: readonly object[], options: TableOptions = {}): string {
  const columns = options.columns ?? Object.keys(rows[0] ?? {});
  const digits = options.digits ?? 3;
  const head = columns.map((c) => `<th>${escapeHtml(c)}</th>`).join('');
  const body = rows.map((row) => `<tr>${columns.map((c) => `<td>${escapeHtml(formatCell((row as Record<string, unknown>)[c], digits))}</td>`).join('')}</tr>`).join('\n');
  const caption = options.caption ? `<caption style="caption-side:top;text-align:left;font-weight:bold">${escapeHtml(options.caption)}</caption>` : '';
  return `<table class="records">${caption}<thead><tr>${head}</tr></thead><tbody>${body}</tbody></table>`;
}

export interface SnippetOptions {
  /** Inline the plotly bundle before the figure (once per page is enough). */
  includePlotly?: boolean;
  /** Element id; a fresh one by default. */
  id?: string;
}

/**
 * A <div> and the script that draws the figure into it. Without the bundle the script expects
 * window.Plotly from an earlier snippet on the same page and says so in the div when it is missing.
 */
export function figureHtml(figure: Figure, options: SnippetOptions = {}): string {
  const id = options.id ?? `plot-${Date.now().toString(36)}-${(nextId++).toString(36)}`;
  const width = figure.layout.width ? `width:${figure.layout.width}px;` : '';
  const height = figure.layout.height ? `height:${figure.layout.height}px;` : '';
  const draw = [
    '(function () {',
    `  var el = document.getElementById(${scriptJson(id)});`,
    "  if (typeof window.Plotly === 'undefined') { el.textContent = 'plotly.js is not loaded on this page: re-run the first plotting cell.'; return; }",
    `  window.Plotly.newPlot(el, ${scriptJson(figure.data)}, ${scriptJson(figure.layout)}, {displaylogo: false, responsive: false});`,
    '})();',
  ].join('\n');
  return `${options.includePlotly ? plotlyScriptTag() : ''}<div id="${escapeHtml(id)}" class="plotly-figure" style="${width}${height}"></div>\n<script type="text/javascript">\n${draw}\n</script>`;
}

export interface PageOptions {
  title: string;
  /** HTML placed before the figures (already escaped where needed). */
  intro?: string;
  /** No page margins or width limit: the page is just the figures (for screenshots). */
  bare?: boolean;
}

/** A complete HTML page with plotly inlined once, then every part in order (figures or raw HTML). */
export function standaloneHtml(parts: (Figure | { html: string })[], options: PageOptions): string {
  const body = parts.map((part) => ('html' in part ? part.html : `<section class="figure">${figureHtml(part)}</section>`)).join('\n');
  return [
    '<!DOCTYPE html>',
    '<html lang="en"><head><meta charset="utf-8">',
    `<title>${escapeHtml(options.title)}</title>`,
    `<style>body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;color:#222;${options.bare ? 'margin:0' : 'margin:24px auto;max-width:1000px;padding:0 16px'}}`,
    'table{border-collapse:collapse;margin:12px 0}th,td{border:1px solid #ccc;padding:4px 10px;text-align:right}th{background:#f3f3f3}td:first-child,th:first-child{text-align:left}',
    `section.figure{margin:${options.bare ? '0' : '20px 0'}}</style>`,
    plotlyScriptTag(),
    '</head><body>',
    options.intro ?? '',
    body,
    '</body></html>',
  ].join('\n');
}

/** Writes a page atomically (temp file + rename) and returns its absolute path. */
export function writeHtmlFile(file: string, html: string): string {
  const target = path.resolve(file);
  mkdirSync(path.dirname(target), { recursive: true });
  const temp = `${target}.${process.pid}.tmp`;
  writeFileSync(temp, html);
  renameSync(temp, target);
  return target;
}

const CHROMIUM_NAMES = ['chromium', 'chromium-browser', 'google-chrome', 'google-chrome-stable'];

/** Path of a Chromium-like browser ($CHROMIUM first, then PATH), or null when none is installed. */
export function findChromium(): string | null {
  const candidates = process.env.CHROMIUM ? [process.env.CHROMIUM] : [];
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    if (dir) for (const name of CHROMIUM_NAMES) candidates.push(path.join(dir, name));
  }
  return candidates.find((file) => existsSync(file) && statSync(file).isFile()) ?? null;
}

export interface PngOptions {
  width?: number;
  height?: number;
  /** Milliseconds of virtual time Chromium grants the page to finish drawing. */
  timeBudgetMs?: number;
}

/** Screenshots an HTML file with headless Chromium. Throws when no Chromium is installed. */
export async function htmlToPng(htmlFile: string, pngFile: string, options: PngOptions = {}): Promise<string> {
  const chromium = findChromium();
  if (!chromium) throw new Error('no Chromium found (install the Debian package `chromium` or set $CHROMIUM)');
  const target = path.resolve(pngFile);
  mkdirSync(path.dirname(target), { recursive: true });
  const profile = mkdtempSync(path.join(tmpdir(), 'plot-chromium-'));
  const args = [
    '--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
    '--disable-sync', '--no-first-run', '--hide-scrollbars', `--user-data-dir=${profile}`,
    `--virtual-time-budget=${options.timeBudgetMs ?? 5000}`,
    `--window-size=${options.width ?? 900},${options.height ?? 500}`,
    `--screenshot=${target}`,
    `file://${path.resolve(htmlFile)}`,
  ];
  try {
    await new Promise<void>((resolve, reject) => {
      execFile(chromium, args, { timeout: 60_000 }, (err, _stdout, stderr) => {
        if (err) reject(new Error(`${chromium} failed: ${err.message}\n${stderr}`));
        else resolve();
      });
    });
  } finally {
    rmSync(profile, { recursive: true, force: true });
  }
  if (!existsSync(target)) throw new Error(`${chromium} exited without writing ${target}`);
  return target;
}

/** Renders one figure to PNG at its own size (a temporary page beside the PNG is removed after). */
export async function figureToPng(figure: Figure, pngFile: string, options: PngOptions = {}): Promise<string> {
  const width = options.width ?? (figure.layout.width ?? 900) + 20;
  const height = options.height ?? (figure.layout.height ?? 500) + 20;
  const page = `${path.resolve(pngFile)}.${process.pid}.html`;
  writeHtmlFile(page, standaloneHtml([figure], { title: String(figure.layout.title?.text ?? 'figure'), bare: true }));
  try {
    return await htmlToPng(page, pngFile, { ...options, width, height });
  } finally {
    rmSync(page, { force: true });
  }
}
