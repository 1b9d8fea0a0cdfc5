/**
 * Executes the notebooks headless with Jupyter and the project's tslab kernel.
 *
 *   npm run notebooks                   # all of notebooks/*.ipynb
 *   npm run notebooks -- 01 02-baselines # a subset, by name prefix
 *
 * Steps: compile src into dist/ (tslab refuses .ts files outside the notebook's folder, so the
 * notebooks import ../dist/src/...), register the tslab kernel inside the project
 * (.jupyter/share/jupyter, found through JUPYTER_PATH; nothing global), execute each notebook into
 * out/notebooks/, sign it so Jupyter runs its plot scripts when opened, and export it to HTML.
 * A failing cell fails the run with the cell's real message: tslab writes no message into the
 * error (TypeScript diagnostics and stack traces go to the cell's stderr) and skips later cells,
 * so scripts/nbconvert_config.py records every cell's reply status and the runner reads the
 * failing cell's stderr out of the executed notebook.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, symlinkSync, lstatSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';

export const ROOT = path.resolve(__dirname, '..');
export const NOTEBOOK_DIR = path.join(ROOT, 'notebooks');
export const OUT_DIR = path.join(ROOT, 'out', 'notebooks');
const JUPYTER_DIR = path.join(ROOT, '.jupyter', 'share', 'jupyter');
const NBCONVERT = 'jupyter-nbconvert';

/** Runs a command; resolves with its output, rejects with stdout and stderr in the message. */
function run(command: string, args: string[], options: { env?: NodeJS.ProcessEnv; cwd?: string; timeoutMs?: number } = {}): Promise<{ stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    execFile(command, args, { cwd: options.cwd ?? ROOT, env: options.env ?? process.env, maxBuffer: 64 << 20, timeout: options.timeoutMs ?? 0 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${command} ${args.join(' ')} failed (${err.message.split('\n')[0]})\n${stdout}${stderr}`));
      else resolve({ stdout, stderr });
    });
  });
}

/** Path of Jupyter's nbconvert on PATH, or null. */
export function findNbconvert(): string | null {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    if (dir && existsSync(path.join(dir, NBCONVERT))) return path.join(dir, NBCONVERT);
  }
  return null;
}

export function nbconvertAvailable(): boolean {
  return findNbconvert() !== null;
}

/** The Python that runs nbconvert (from its #! line): the one whose nbformat can sign notebooks. */
function jupyterPython(): string {
  const script = findNbconvert();
  const shebang = script ? /^#!\s*(\S+)/.exec(readFileSync(script, 'utf8').split('\n', 1)[0]) : null;
  return shebang ? shebang[1] : 'python3';
}

/**
 * Compiles src into dist/src. dist/data links to data/ because the library finds the bundled
 * dataset relative to its own file (src/../data, hence dist/src/../data).
 */
export async function buildLibrary(): Promise<void> {
  const tsc = path.join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
  try {
    await run(process.execPath, [tsc, '-p', path.join(ROOT, 'tsconfig.build.json')]);
  } catch (err) {
    throw new Error(`compiling src for the notebooks failed:\n${(err as Error).message}`);
  }
  const link = path.join(ROOT, 'dist', 'data');
  if (!existsSync(link) && !isSymlink(link)) symlinkSync(path.join('..', 'data'), link, 'dir');
}

function isSymlink(file: string): boolean {
  try {
    return lstatSync(file).isSymbolicLink();
  } catch {
    return false;
  }
}

/** Writes the tslab kernel spec into the project and returns the JUPYTER_PATH entry to use. */
export function registerKernel(): string {
  const tslab = path.join(ROOT, 'node_modules', '.bin', 'tslab');
  if (!existsSync(tslab)) throw new Error(`${tslab} is missing: run npm ci first`);
  const dir = path.join(JUPYTER_DIR, 'kernels', 'tslab');
  mkdirSync(dir, { recursive: true });
  const spec = { argv: [tslab, 'kernel', '--config-path', '{connection_file}'], display_name: 'TypeScript (tslab)', language: 'typescript' };
  writeFileSync(path.join(dir, 'kernel.json'), JSON.stringify(spec, null, 2) + '\n');
  return JUPYTER_DIR;
}

/** The environment for Jupyter: our kernel first, and no stray Python from the PATH. */
export function jupyterEnv(): NodeJS.ProcessEnv {
  const jupyterPath = [JUPYTER_DIR, process.env.JUPYTER_PATH].filter(Boolean).join(path.delimiter);
  return { ...process.env, JUPYTER_PATH: jupyterPath };
}

/** Notebook files in notebooks/, optionally only those whose name starts with one of `names`. */
export function selectNotebooks(names: string[] = []): string[] {
  const all = readdirSync(NOTEBOOK_DIR).filter((f) => f.endsWith('.ipynb')).sort();
  if (names.length === 0) return all;
  return names.map((name) => {
    const wanted = path.basename(name).replace(/\.ipynb$/, '');
    const matches = all.filter((f) => f === `${wanted}.ipynb` || f.startsWith(wanted));
    if (matches.length !== 1) {
      throw new Error(`notebook ${JSON.stringify(name)} ${matches.length === 0 ? 'matches no notebook' : `is ambiguous (${matches.join(', ')})`}; notebooks: ${all.join(', ')}`);
    }
    return matches[0];
  });
}

interface NotebookOutput {
  output_type: string;
  name?: string;
  text?: string | string[];
  ename?: string;
  evalue?: string;
  traceback?: string[];
  data?: Record<string, unknown>;
}

interface NotebookCell {
  cell_type: string;
  source: string | string[];
  outputs?: NotebookOutput[];
  metadata?: { execution_status?: string };
}

export interface NotebookJson {
  cells: NotebookCell[];
  metadata: Record<string, unknown>;
}

export interface CellError {
  cell: number;
  source: string;
  message: string;
}

const joinText = (text: string | string[] | undefined) => (Array.isArray(text) ? text.join('') : (text ?? ''));
const stripAnsi = (text: string) => text.replace(/\u001b\[[0-9;]*m/g, '');

/**
 * The failed cells of an executed notebook: cells whose execute reply said "error" (recorded by
 * scripts/nbconvert_config.py) or that hold an error output, with their stderr as the message.
 */
export function notebookErrors(notebook: NotebookJson): CellError[] {
  const errors: CellError[] = [];
  notebook.cells.forEach((cell, index) => {
    if (cell.cell_type !== 'code') return;
    const outputs = cell.outputs ?? [];
    const errorOutputs = outputs.filter((o) => o.output_type === 'error');
    if (cell.metadata?.execution_status !== 'error' && errorOutputs.length === 0) return;
    const stderr = outputs.filter((o) => o.output_type === 'stream' && o.name === 'stderr').map((o) => joinText(o.text)).join('');
    const reported = errorOutputs.map((o) => [[o.ename, o.evalue].filter(Boolean).join(': '), stripAnsi((o.traceback ?? []).join('\n'))].filter(Boolean).join('\n'));
    const message = [...reported, stripAnsi(stderr)].map((m) => m.trim()).filter(Boolean).join('\n') || '(the kernel gave no message)';
    errors.push({ cell: index, source: joinText(cell.source), message });
  });
  return errors;
}

/** Code cells the kernel skipped (after an earlier failure). */
export function skippedCells(notebook: NotebookJson): number {
  return notebook.cells.filter((cell) => cell.metadata?.execution_status === 'abort' || cell.metadata?.execution_status === 'aborted').length;
}

/** Number of outputs that draw a plotly figure. */
export function plotlyFigureCount(notebook: NotebookJson): number {
  let count = 0;
  for (const cell of notebook.cells) {
    for (const output of cell.outputs ?? []) {
      const html = output.data?.['text/html'];
      if (joinText(html as string | string[] | undefined).includes('class="plotly-figure"')) count++;
    }
  }
  return count;
}

/** True when the notebook's outputs define window.Plotly (the inlined plotly.js bundle). */
export function hasPlotlyBundle(notebook: NotebookJson): boolean {
  return notebook.cells.some((cell) => (cell.outputs ?? []).some((o) => joinText(o.data?.['text/html'] as string | string[] | undefined).includes('window.Plotly = Plotly')));
}

export class NotebookError extends Error {
  override name = 'NotebookError';
  constructor(readonly notebook: string, readonly errors: CellError[], skipped: number) {
    const first = errors[0];
    const source = first.source.split('\n').slice(0, 8).map((l) => `    | ${l}`).join('\n');
    const more = [errors.length > 1 ? `${errors.length - 1} more failed cell(s)` : '', skipped > 0 ? `${skipped} later cell(s) skipped` : ''].filter(Boolean).join(', ');
    super(`${notebook}: cell ${first.cell} failed${more ? ` (${more})` : ''}:\n${source}\n${first.message}`);
  }
}

export interface NotebookRun {
  name: string;
  executed: string;
  html: string;
  seconds: number;
  figures: number;
  errors: CellError[];
  skipped: number;
}

export interface ExecuteOptions {
  /** Where the executed notebook and its HTML export go (default out/notebooks). */
  outDir?: string;
  env?: NodeJS.ProcessEnv;
}

/**
 * Executes one notebook (a file name in notebooks/ or a path) and exports it to HTML. Failed
 * cells are collected in the result, not thrown. The kernel runs in the notebook's folder.
 */
export async function executeNotebook(file: string, options: ExecuteOptions = {}): Promise<NotebookRun> {
  const source = path.isAbsolute(file) ? file : path.join(NOTEBOOK_DIR, file);
  const name = path.basename(source).replace(/\.ipynb$/, '');
  const outDir = options.outDir ?? OUT_DIR;
  const env = options.env ?? jupyterEnv();
  const started = Date.now();
  mkdirSync(outDir, { recursive: true });
  const executed = path.join(outDir, `${name}.ipynb`);
  // --allow-errors writes the executed notebook even when a cell fails, so the real message
  // can be read from it.
  await run(NBCONVERT, ['--config', path.join(ROOT, 'scripts', 'nbconvert_config.py'), '--to', 'notebook', '--execute', '--allow-errors',
    '--ExecutePreprocessor.kernel_name=tslab', '--ExecutePreprocessor.timeout=900', '--output-dir', outDir, '--output', name, source], { env });
  const notebook = JSON.parse(readFileSync(executed, 'utf8')) as NotebookJson;
  // Jupyter runs scripts in HTML outputs of trusted notebooks only. Unsigned, the notebook still
  // opens; its figures then show once its cells are run again.
  await run(jupyterPython(), ['-m', 'nbformat.sign', executed], { env }).catch(() => undefined);
  await run(NBCONVERT, ['--to', 'html', '--output-dir', outDir, executed], { env });
  return {
    name,
    executed,
    html: path.join(outDir, `${name}.html`),
    seconds: (Date.now() - started) / 1000,
    figures: plotlyFigureCount(notebook),
    errors: notebookErrors(notebook),
    skipped: skippedCells(notebook),
  };
}

/** Builds, registers the kernel and executes the selected notebooks in order. Throws on the first failing notebook. */
export async function runNotebooks(names: string[] = [], log: (line: string) => void = () => undefined): Promise<NotebookRun[]> {
  if (!nbconvertAvailable()) throw new Error(`${NBCONVERT} is not installed (Debian: apt-get install -y --no-install-recommends jupyter-nbconvert)`);
  const files = selectNotebooks(names);
  log('compiling src into dist/ ...');
  await buildLibrary();
  registerKernel();
  const env = jupyterEnv();
  const runs: NotebookRun[] = [];
  for (const file of files) {
    log(`executing ${file} ...`);
    const result = await executeNotebook(file, { env });
    runs.push(result);
    if (result.errors.length > 0) throw new NotebookError(file, result.errors, result.skipped);
    log(`  ok in ${result.seconds.toFixed(1)} s, ${result.figures} figure(s): ${path.relative(ROOT, result.executed)}, ${path.relative(ROOT, result.html)}`);
  }
  return runs;
}

if (require.main === module) {
  const started = Date.now();
  runNotebooks(process.argv.slice(2), (line) => console.log(line))
    .then((runs) => console.log(`${runs.length} notebook(s) executed in ${((Date.now() - started) / 1000).toFixed(1)} s`))
    .catch((err: Error) => {
      console.error(err.message);
      process.exitCode = 1;
    });
}
