/**
 * Display helpers for tslab notebooks: figures, tables and data frames as rich outputs.
 *
 * Figures are HTML outputs that draw with plotly.js; the bundle is inlined into the first figure
 * a kernel shows, so an executed notebook and its HTML export work offline. Later figures use
 * the window.Plotly that first output defined.
 */
import { figureHtml, escapeHtml, type Figure } from './plot';

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

/** Formats a cell: numbers with `digits` significant decimals, NaN as "NaN". */
function formatCell(value: unknown, digits: number): string {
  if (typeof value === 'number') {
    if (Number.isNaN(value)) return 'NaN';
    return Number.isInteger(value) ? String(value) : value.toFixed(digits);
  }
  return value === undefined || value === null ? '' : String(value);
}

/** An HTML table of records (columns from the first record unless given). */
export function tableHtml(rows: readonly object[], options: { columns?: string[]; caption?: string; digits?: number } = {}): string {
  const columns = options.columns ?? Object.keys(rows[0] ?? {});
  const digits = options.digits ?? 3;
  const head = columns.map((c) => `<th>${escapeHtml(c)}</th>`).join('');
  const body = rows.map((row) => `<tr>${columns.map((c) => `<td>${escapeHtml(formatCell((row as Record<string, unknown>)[c], digits))}</td>`).join('')}</tr>`).join('\n');
  const caption = options.caption ? `<caption style="caption-side:top;text-align:left;font-weight:bold">${escapeHtml(options.caption)}</caption>` : '';
  return `<table class="records">${caption}<thead><tr>${head}</tr></thead><tbody>${body}</tbody></table>`;
}

export function showTable(rows: readonly object[], options: { columns?: string[]; caption?: string; digits?: number } = {}): void {
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

export function showMarkdown(text: string): void {
  display().markdown(text);
}
