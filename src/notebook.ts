/**
 * Display helpers for tslab notebooks: figures, tables and data frames as rich outputs.
 *
 * Figures are HTML outputs that draw with plotly.js; the bundle is inlined into the first figure
 * a kernel shows, so an executed notebook and its HTML export work offline. Later figures use
 * the window.Plotly that first output defined.
 */
import { figureHtml, tableHtml, type Figure, type TableOptions } from './plot';

interface TslabDisplay {
  html(s: string): void;
  markdown(s: string): void;
}

function display(): TslabDisplay {
  // Loaded on use: tslab is only there inside a notebook kernel (and its display needs one).
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return (require('tslab') as { display: TslabDisplay }).display;
}

let plotlyShown = false;

/** Shows a plotly figure in the notebook. */
export function showFigure(figure: Figure): void {
  display().html(figureHtml(figure, { includePlotly: !plotlyShown }));
  plotlyShown = true;
}

export function showTable(rows: readonly object[], options: TableOptions = {}): void {
  display().html(tableHtml(rows, options));
}

/** The part of a danfojs DataFrame a table needs (kept structural so danfojs stays optional). */
export interface FrameLike {
  columns: string[];
  index: (string | number)[];
  values: unknown[] | unknown[][];
}

/** Records of a DataFrame's first `maxRows` rows, with its index as the first column. */
export function frameRecords(frame: FrameLike, maxRows = 20, indexName = ''): Record<string, unknown>[] {
  const values = frame.values as unknown[][];
  return values.slice(0, maxRows).map((row, i) => {
    const record: Record<string, unknown> = { [indexName]: frame.index[i] };
    frame.columns.forEach((column, c) => (record[column] = row[c]));
    return record;
  });
}

/** Shows a danfojs DataFrame (e.g. `df.head(5)`) as a table. For summaries of columns with NaN use dataset-stats' `describeColumns`: danfojs's `describe()` has no mean, std or median for them. */
export function showFrame(frame: FrameLike, options: { maxRows?: number; caption?: string; digits?: number } = {}): void {
  showTable(frameRecords(frame, options.maxRows ?? 20), { caption: options.caption, digits: options.digits });
}

