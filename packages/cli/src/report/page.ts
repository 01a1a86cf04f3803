/**
 * The page shell shared by `supcon report` and `supcon compare --html`: one self-contained HTML
 * file (inline CSS, ECharts inlined from the installed package, no network), charts that fill the
 * page's width and resize with the window, and the layout every chart uses so that its title, its
 * legend and its axes each get their own band and never overlap.
 *
 * Each chart is a `<div class="chart">` followed by `<script type="application/json"
 * class="chart-option">` holding its ECharts option as plain JSON (no functions), which the page's
 * script hands to `echarts.init(...).setOption(...)`.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { EChartsOption } from 'echarts';

/** Tableau 10: distinguishable, and in a fixed order so run i has the same colour on every chart. */
export const PALETTE = ['#4e79a7', '#f28e2b', '#e15759', '#76b7b2', '#59a14f', '#edc948', '#b07aa1', '#ff9da7', '#9c755f', '#bab0ac'];

/** The vertical bands of a chart, in pixels from its top: title, then legend, then the axes. */
export const LAYOUT = {
  titleTop: 8,
  titleFontSize: 15,
  legendTop: 42,
  legendItemHeight: 12,
  /** Top of the axes' band (names and labels included) below a legend. */
  axesTopWithLegend: 74,
  /** Top of the axes' band when the chart has no legend. */
  axesTop: 44,
} as const;

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

/** JSON that is safe inside a `<script>` element (no `</script>`, no `<!--`), and still parses to the same value. */
export function scriptJson(value: unknown): string {
  return JSON.stringify(value).replace(/</g, '\\u003c').replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029');
}

export interface FrameOptions {
  /** Whether the chart has a legend (a scrolling one-line legend under the title). */
  legend?: boolean;
  /** Pixels kept free on the right (a visualMap, a second y axis' name). */
  right?: number;
}

/**
 * Title, legend and grid of a chart with their own bands: the title at the top, the legend below
 * it, and the grid below both, shrunk by ECharts so that the axes' labels and names stay inside
 * `outerBounds` (below the legend, inside the chart's edges).
 */
export function frame(title: string, options: FrameOptions = {}): Pick<EChartsOption, 'title' | 'legend' | 'grid'> {
  const top = options.legend ? LAYOUT.axesTopWithLegend : LAYOUT.axesTop;
  const right = options.right ?? 0;
  const bounds = { top, left: 8, right: 12 + right, bottom: 6 };
  return {
    title: { text: title, top: LAYOUT.titleTop, left: 8, textStyle: { fontSize: LAYOUT.titleFontSize, fontWeight: 'bold' } },
    ...(options.legend ? { legend: { type: 'scroll', top: LAYOUT.legendTop, left: 8, right: 12, itemHeight: LAYOUT.legendItemHeight } } : {}),
    grid: { ...bounds, outerBoundsMode: 'auto', outerBounds: bounds, outerBoundsContain: 'all' } as EChartsOption['grid'],
  };
}

export interface ChartSpec {
  /** Unique on the page: the chart's element is `chart-<id>`. */
  id: string;
  /** A plain-JSON ECharts option (no functions: it is embedded as JSON). */
  option: EChartsOption;
  /** Height in pixels (the width is the page's). */
  height?: number;
  /** What the chart shows, for screen readers. */
  description: string;
}

/** A chart's container and its option, as the page's script expects them. */
export function chartBlock(spec: ChartSpec): string {
  const option = { animation: false, color: PALETTE, ...spec.option };
  return (
    `<figure class="chart-box"><div class="chart" id="chart-${escapeHtml(spec.id)}" style="height:${spec.height ?? 380}px" role="img" aria-label="${escapeHtml(spec.description)}"></div>` +
    `<script type="application/json" class="chart-option" data-chart="chart-${escapeHtml(spec.id)}">${scriptJson(option)}</script></figure>`
  );
}

let echartsSource: string | undefined;

/** ECharts' browser build, read once from the installed package, safe to inline in a `<script>`. */
function inlineEcharts(): string {
  if (echartsSource === undefined) {
    const file = createRequire(import.meta.url).resolve('echarts/dist/echarts.min');
    echartsSource = readFileSync(file, 'utf8').replace(/<\/(script)/gi, '<\\/$1').replace(/<!--/g, '<\\!--');
  }
  return echartsSource;
}

/** Starts every chart of the page, and resizes each with its container (the window, a printed page). */
const INIT_SCRIPT = `(function () {
  var charts = [];
  var options = document.querySelectorAll('script.chart-option');
  for (var i = 0; i < options.length; i++) {
    var box = document.getElementById(options[i].getAttribute('data-chart'));
    var chart = echarts.init(box, null, { renderer: 'svg' });
    chart.setOption(JSON.parse(options[i].textContent));
    charts.push(chart);
  }
  function resizeAll() { for (var j = 0; j < charts.length; j++) charts[j].resize(); }
  if (typeof ResizeObserver === 'function') {
    var observer = new ResizeObserver(resizeAll);
    for (var k = 0; k < charts.length; k++) observer.observe(charts[k].getDom());
  } else {
    window.addEventListener('resize', resizeAll);
  }
  window.addEventListener('beforeprint', resizeAll);
})();`;

const STYLE = `
*{box-sizing:border-box}
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:0;color:#222;background:#fff}
main{margin:0 auto;padding:16px 24px 32px;max-width:1800px}
h1{font-size:22px;margin:8px 0 4px}h2{font-size:17px;border-bottom:1px solid #ddd;padding-bottom:4px;margin-top:28px}
.meta{color:#666;margin:0 0 12px}
table{border-collapse:collapse;margin:8px 0}th,td{text-align:left;padding:4px 14px 4px 0;border-bottom:1px solid #eee;vertical-align:top}
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}td.num{white-space:nowrap}
.table-wrap{overflow-x:auto;max-width:100%}
thead th{border-bottom:2px solid #ccc}
.chart-box{margin:12px 0 20px;width:100%}.chart{width:100%}
details{margin:12px 0}summary{cursor:pointer;font-weight:600}
pre{background:#f6f8fa;padding:12px;overflow:auto;font-size:12px}
footer{color:#888;font-size:12px;margin-top:32px}
@media print{.chart-box{break-inside:avoid}}
`;

/** The whole page: head, `body` (already HTML), ECharts and the script that starts the charts. */
export function page(title: string, body: string, generator: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title>
<style>${STYLE}</style></head>
<body><main>
<h1>${escapeHtml(title)}</h1>
<noscript><p>The charts need JavaScript (ECharts, inlined in this file; nothing is loaded from the network).</p></noscript>
${body}
<footer><p>Generated by ${escapeHtml(generator)} on ${new Date().toISOString()}.</p></footer>
</main>
<script>${inlineEcharts()}</script>
<script>${INIT_SCRIPT}</script>
</body></html>
`;
}
