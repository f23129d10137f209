/** Plain-text tables for the benchmark output: numbers right-aligned, text left-aligned. */

export type Cell = string | number | boolean | null | undefined;

function text(cell: Cell): string {
  if (cell === null || cell === undefined || (typeof cell === 'number' && Number.isNaN(cell))) {
    return '-';
  }
  return String(cell);
}

export function formatTable(headers: readonly string[], rows: readonly (readonly Cell[])[]): string {
  for (const [index, row] of rows.entries()) {
    if (row.length !== headers.length) {
      throw new RangeError(`table row ${index} has ${row.length} cells for ${headers.length} columns`);
    }
  }
  const cells = rows.map((row) => row.map(text));
  const widths = headers.map((header, column) =>
    Math.max(header.length, ...cells.map((row) => (row[column] ?? '').length)),
  );
  // A column is right-aligned when every cell that holds something is a number.
  const numeric = headers.map(
    (_, column) =>
      rows.some((row) => typeof row[column] === 'number') &&
      rows.every(
        (row) => typeof row[column] === 'number' || row[column] === null || row[column] === undefined,
      ),
  );
  const line = (row: readonly string[]): string =>
    row
      .map((cell, column) =>
        numeric[column] ? cell.padStart(widths[column] ?? 0) : cell.padEnd(widths[column] ?? 0),
      )
      .join('  ')
      .trimEnd();
  return [line(headers), line(widths.map((width) => '-'.repeat(width))), ...cells.map(line)].join('\n');
}
