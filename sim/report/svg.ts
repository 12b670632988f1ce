/**
 * Hand-written SVG line charts (no dependency): linear or log x axis, one polyline per series,
 * axes with round ticks and a legend. Deterministic output for deterministic input.
 */
export interface Series {
  readonly name: string;
  readonly xs: readonly number[];
  readonly ys: readonly number[];
}

export interface ChartSpec {
  readonly title: string;
  readonly xLabel: string;
  readonly yLabel: string;
  readonly series: readonly Series[];
  readonly logX?: boolean;
  readonly width?: number;
  readonly height?: number;
}

const COLORS = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f', '#bcbd22', '#17becf'];

function escapeXml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** Round tick values covering [lo, hi]. */
export function niceTicks(lo: number, hi: number, count = 5): number[] {
  if (!(hi > lo)) return [lo];
  const raw = (hi - lo) / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? 10 * mag;
  const ticks: number[] = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) ticks.push(Number(v.toPrecision(12)));
  return ticks;
}

function fmtTick(v: number): string {
  if (v === 0) return '0';
  const a = Math.abs(v);
  if (a >= 1e6) return `${(v / 1e6).toPrecision(3)}M`;
  if (a >= 1e3) return `${(v / 1e3).toPrecision(3)}k`;
  return a >= 1 ? String(Number(v.toPrecision(4))) : v.toPrecision(2);
}

export function lineChart(spec: ChartSpec): string {
  const width = spec.width ?? 760;
  const height = spec.height ?? 360;
  const m = { left: 64, right: 180, top: 36, bottom: 48 };
  const pw = width - m.left - m.right;
  const ph = height - m.top - m.bottom;
  const tx = (x: number): number => (spec.logX ? Math.log10(Math.max(x, 1e-9)) : x);
  const xsAll = spec.series.flatMap((s) => s.xs.map(tx)).filter(Number.isFinite);
  const ysAll = spec.series.flatMap((s) => [...s.ys]).filter(Number.isFinite);
  let x0 = Math.min(...xsAll);
  let x1 = Math.max(...xsAll);
  if (!Number.isFinite(x0) || x0 === x1) [x0, x1] = [Number.isFinite(x0) ? x0 - 1 : 0, Number.isFinite(x1) ? x1 + 1 : 1];
  const y0 = Math.min(0, ...ysAll);
  let y1 = Math.max(...ysAll, 0);
  if (!(y1 > y0)) y1 = y0 + 1;
  y1 *= 1.05;
  const px = (x: number): number => m.left + ((tx(x) - x0) / (x1 - x0)) * pw;
  const py = (y: number): number => m.top + ph - ((y - y0) / (y1 - y0)) * ph;
  const out: string[] = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="11">`);
  out.push(`<rect x="0" y="0" width="${width}" height="${height}" fill="white"/>`);
  out.push(`<text x="${m.left}" y="20" font-size="14" font-weight="bold">${escapeXml(spec.title)}</text>`);
  // Grid and ticks.
  for (const v of niceTicks(y0, y1)) {
    const y = py(v).toFixed(1);
    out.push(`<line x1="${m.left}" y1="${y}" x2="${m.left + pw}" y2="${y}" stroke="#e5e5e5"/>`);
    out.push(`<text x="${m.left - 6}" y="${y}" text-anchor="end" dominant-baseline="middle">${fmtTick(v)}</text>`);
  }
  const xTicks = spec.logX
    ? Array.from({ length: Math.floor(x1) - Math.ceil(x0) + 1 }, (_, i) => 10 ** (Math.ceil(x0) + i))
    : niceTicks(x0, x1, 6);
  for (const v of xTicks) {
    const x = px(v).toFixed(1);
    out.push(`<line x1="${x}" y1="${m.top}" x2="${x}" y2="${m.top + ph}" stroke="#f0f0f0"/>`);
    out.push(`<text x="${x}" y="${m.top + ph + 16}" text-anchor="middle">${fmtTick(v)}</text>`);
  }
  out.push(`<rect x="${m.left}" y="${m.top}" width="${pw}" height="${ph}" fill="none" stroke="#333"/>`);
  out.push(`<text x="${m.left + pw / 2}" y="${height - 10}" text-anchor="middle">${escapeXml(spec.xLabel)}</text>`);
  out.push(`<text transform="translate(16 ${m.top + ph / 2}) rotate(-90)" text-anchor="middle">${escapeXml(spec.yLabel)}</text>`);
  spec.series.forEach((s, i) => {
    const color = COLORS[i % COLORS.length]!;
    const points: string[] = [];
    for (let k = 0; k < s.xs.length; k++) {
      const x = s.xs[k]!;
      const y = s.ys[k]!;
      if (!Number.isFinite(tx(x)) || !Number.isFinite(y)) continue;
      points.push(`${px(x).toFixed(1)},${py(y).toFixed(1)}`);
    }
    out.push(`<polyline fill="none" stroke="${color}" stroke-width="1.5" points="${points.join(' ')}"/>`);
    const ly = m.top + 8 + i * 16;
    out.push(`<line x1="${m.left + pw + 12}" y1="${ly}" x2="${m.left + pw + 32}" y2="${ly}" stroke="${color}" stroke-width="3"/>`);
    out.push(`<text x="${m.left + pw + 38}" y="${ly}" dominant-baseline="middle">${escapeXml(s.name)}</text>`);
  });
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}
