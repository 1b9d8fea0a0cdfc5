import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import {
  buildLibrary, executeNotebook, hasPlotlyBundle, NOTEBOOK_DIR, nbconvertAvailable, registerKernel, runNotebooks, type NotebookJson,
} from '../scripts/run-notebooks';

const skip = nbconvertAvailable() ? false : 'jupyter-nbconvert is not installed (Debian: apt-get install -y --no-install-recommends jupyter-nbconvert)';
const notebookFiles = readdirSync(NOTEBOOK_DIR).filter((f) => f.endsWith('.ipynb')).sort();

test('the committed notebooks use the tslab kernel and have their outputs cleared', () => {
  assert.deepEqual(notebookFiles, ['01-dataset.ipynb', '02-baselines.ipynb', '03-train-offline.ipynb', '04-evaluate.ipynb', '05-finetune-live.ipynb', '06-test-live.ipynb', '07-load.ipynb', '08-model.ipynb', '09-load-aware.ipynb', '10-live-load.ipynb', '11-in-place.ipynb']);
  for (const file of notebookFiles) {
    const notebook = JSON.parse(readFileSync(path.join(NOTEBOOK_DIR, file), 'utf8')) as NotebookJson & { metadata: { kernelspec?: { name?: string } } };
    assert.equal(notebook.metadata.kernelspec?.name, 'tslab', `${file}: kernel`);
    for (const cell of notebook.cells) {
      if (cell.cell_type === 'code') assert.deepEqual(cell.outputs, [], `${file}: a code cell has outputs`);
    }
  }
});

test('every notebook executes in Jupyter with the tslab kernel, without errors, and draws plotly figures', { skip, timeout: 20 * 60_000 }, async () => {
  const runs = await runNotebooks();
  assert.deepEqual(runs.map((r) => `${r.name}.ipynb`), notebookFiles);
  for (const run of runs) {
    assert.deepEqual(run.errors, [], `${run.name}: failed cells`);
    assert.equal(run.skipped, 0, `${run.name}: skipped cells`);
    assert.ok(run.figures >= 1, `${run.name}: no plotly figure output`);
    const executed = JSON.parse(readFileSync(run.executed, 'utf8')) as NotebookJson;
    // The figures must draw offline: the executed notebook carries plotly.js itself.
    assert.ok(hasPlotlyBundle(executed), `${run.name}: plotly.js is not inlined in the executed notebook`);
    const html = readFileSync(run.html, 'utf8');
    assert.ok(html.includes('window.Plotly = Plotly') && html.includes('Plotly.newPlot('), `${run.name}: the HTML export does not draw its figures`);
  }
});

test('a failing cell is reported with the TypeScript message from its stderr', { skip, timeout: 5 * 60_000 }, async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'notebook-test-'));
  try {
    const cell = (source: string) => ({ cell_type: 'code', metadata: {}, execution_count: null, outputs: [], source: [source] });
    const notebook = {
      cells: [cell("console.log('first');"), cell("const level: number = 'nine';"), cell("console.log('never');")],
      metadata: { kernelspec: { name: 'tslab', display_name: 'TypeScript (tslab)', language: 'typescript' } },
      nbformat: 4,
      nbformat_minor: 4,
    };
    const file = path.join(dir, 'failing.ipynb');
    writeFileSync(file, JSON.stringify(notebook));
    await buildLibrary();
    registerKernel();
    const run = await executeNotebook(file, { outDir: dir });
    assert.equal(run.errors.length, 1);
    assert.equal(run.errors[0].cell, 1);
    assert.match(run.errors[0].message, /Type 'string' is not assignable to type 'number'/);
    assert.equal(run.skipped, 1);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
