/** Building blocks of the day's report: the series colours and HTML tables. */
import { escapeXml } from './svg-chart';

export const COLORS = {
  range: '#4e79a7',
  capacity: '#e15759',
  dispatched: '#59a14f',
  drawn: '#f28e2b',
  lambda: '#76b7b2',
  price: '#b07aa1',
};

/** An HTML table; every header and cell is escaped. */
export function table(header: readonly string[], rows: readonly (readonly (string | number)[])[]): string {
  const head = header.map((title) => `<th>${escapeXml(title)}</th>`).join('');
  const body = rows
    .map((row) => `<tr>${row.map((value) => `<td>${escapeXml(String(value))}</td>`).join('')}</tr>`)
    .join('\n');
  return `<table><thead><tr>${head}</tr></thead><tbody>\n${body}\n</tbody></table>`;
}
