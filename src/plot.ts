/**
 * Plotly figures for the project: pure builders (data -> `{data, layout}` JSON) and renderers
 * (notebook/report HTML snippets, standalone HTML, PNG through headless Chromium).
 */
export * from './plot/figure';
export * from './plot/dataset';
export * from './plot/episode';
export * from './plot/training';
export * from './plot/actions';
export * from './plot/live';
export * from './plot/load';
export * from './plot/render';
