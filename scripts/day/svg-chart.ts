/**
 * Minimal inline SVG charts for the day's report (no script, no external resources): series over
 * the slots of the day as lines, dashed lines, shaded ranges or bars, with axes and a legend.
 */

export type SeriesKind = 'line' | 'dashed' | 'band' | 'bars';

export interface Series {
  readonly name: string;
  readonly color: string;
  readonly kind: SeriesKind;
  /** One value per slot; null leaves a gap. For 'band', the lower edge. */
  readonly values: readonly (number | null)[];
  /** For 'band': the upper edge per slot. */
  readonly upper?: readonly (number | null)[];
}

export interface ChartSpec {
  readonly title: string;
  readonly yLabel: string;
  /** Labels of the slots on the x axis (e.g. times of day). */
  readonly xLabels: readonly string[];
  readonly series: readonly Series[];
  /** Fixed top of the y axis; otherwise the largest value plus a margin. */
  readonly yMax?: number;
}

const WIDTH = 760;
const HEIGHT = 240;
const MARGIN = { left: 52, right: 12, top: 28, bottom: 44 };

export function escapeXml(text: string): string {
  return text
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}

const fmt = (value: number): string => String(Math.round(value * 10) / 10);

/** Contiguous runs of slots whose values are all present. */
function runs(length: number, present: (index: number) => boolean): number[][] {
  const result: number[][] = [];
  let current: number[] = [];
  for (let index = 0; index < length; index += 1) {
    if (present(index)) {
      current.push(index);
    } else if (current.length > 0) {
      result.push(current);
      current = [];
    }
  }
  if (current.length > 0) {
    result.push(current);
  }
  return result;
}

export function renderChart(spec: ChartSpec): string {
  const count = Math.max(1, spec.xLabels.length);
  const all = spec.series.flatMap((series) => [...series.values, ...(series.upper ?? [])]);
  const largest = Math.max(
    0,
    ...all.filter((value): value is number => value !== null && Number.isFinite(value)),
  );
  const yMax = spec.yMax ?? (largest > 0 ? largest * 1.1 : 1);
  const plotWidth = WIDTH - MARGIN.left - MARGIN.right;
  const plotHeight = HEIGHT - MARGIN.top - MARGIN.bottom;
  const step = plotWidth / count;
  const x = (index: number): number => MARGIN.left + step * (index + 0.5);
  const y = (value: number): number => MARGIN.top + plotHeight * (1 - Math.min(value, yMax) / yMax);
  const point = (index: number, value: number): string => `${x(index).toFixed(1)},${y(value).toFixed(1)}`;

  const parts: string[] = [];
  parts.push(
    `<text x="${MARGIN.left}" y="16" font-size="13" font-weight="bold">${escapeXml(spec.title)}</text>`,
    `<text x="12" y="${MARGIN.top + plotHeight / 2}" font-size="11" transform="rotate(-90 12 ${MARGIN.top + plotHeight / 2})" text-anchor="middle">${escapeXml(spec.yLabel)}</text>`,
  );
  for (let tick = 0; tick <= 4; tick += 1) {
    const value = (yMax * tick) / 4;
    parts.push(
      `<line x1="${MARGIN.left}" x2="${WIDTH - MARGIN.right}" y1="${y(value).toFixed(1)}" y2="${y(value).toFixed(1)}" stroke="#ddd"/>`,
      `<text x="${MARGIN.left - 4}" y="${(y(value) + 4).toFixed(1)}" font-size="10" text-anchor="end">${fmt(value)}</text>`,
    );
  }
  const labelEvery = Math.max(1, Math.ceil(count / 12));
  spec.xLabels.forEach((label, index) => {
    if (index % labelEvery === 0) {
      parts.push(
        `<text x="${x(index).toFixed(1)}" y="${HEIGHT - MARGIN.bottom + 14}" font-size="10" text-anchor="middle">${escapeXml(label)}</text>`,
      );
    }
  });

  const barSeries = spec.series.filter((series) => series.kind === 'bars');
  for (const series of spec.series) {
    const value = (index: number): number | null => series.values[index] ?? null;
    if (series.kind === 'band') {
      const upper = (index: number): number | null => series.upper?.[index] ?? null;
      for (const run of runs(count, (index) => value(index) !== null && upper(index) !== null)) {
        const top = run.map((index) => point(index, upper(index) ?? 0));
        const bottom = [...run].reverse().map((index) => point(index, value(index) ?? 0));
        parts.push(
          `<polygon points="${[...top, ...bottom].join(' ')}" fill="${series.color}" fill-opacity="0.25" stroke="${series.color}" stroke-opacity="0.5"/>`,
        );
      }
    } else if (series.kind === 'bars') {
      const position = barSeries.indexOf(series);
      const width = (step * 0.8) / barSeries.length;
      for (let index = 0; index < count; index += 1) {
        const height = value(index);
        if (height !== null) {
          parts.push(
            `<rect x="${(x(index) - step * 0.4 + width * position).toFixed(1)}" y="${y(height).toFixed(1)}" width="${width.toFixed(1)}" height="${(MARGIN.top + plotHeight - y(height)).toFixed(1)}" fill="${series.color}"/>`,
          );
        }
      }
    } else {
      for (const run of runs(count, (index) => value(index) !== null)) {
        const points = run.map((index) => point(index, value(index) ?? 0));
        if (points.length === 1) {
          const [cx, cy] = (points[0] ?? '0,0').split(',');
          parts.push(`<circle cx="${cx}" cy="${cy}" r="2.5" fill="${series.color}"/>`);
        } else {
          parts.push(
            `<polyline points="${points.join(' ')}" fill="none" stroke="${series.color}" stroke-width="2"${series.kind === 'dashed' ? ' stroke-dasharray="6 4"' : ''}/>`,
          );
        }
      }
    }
  }
  spec.series.forEach((series, position) => {
    const lx = MARGIN.left + position * 170;
    const ly = HEIGHT - 10;
    parts.push(
      `<rect x="${lx}" y="${ly - 9}" width="12" height="10" fill="${series.color}"${series.kind === 'band' ? ' fill-opacity="0.35"' : ''}/>`,
      `<text x="${lx + 16}" y="${ly}" font-size="11">${escapeXml(series.name)}</text>`,
    );
  });
  return `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${WIDTH} ${HEIGHT}" width="${WIDTH}" height="${HEIGHT}" role="img" aria-label="${escapeXml(spec.title)}">${parts.join('')}</svg>`;
}
