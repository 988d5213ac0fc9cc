// A self-contained HTML report as one string: headings, paragraphs, lists,
// preformatted text, tables of numbers formatted to a given precision, and
// inline SVG figures (from lib/plot.ts). Styles are inline and nothing is
// fetched, so the page opens from disk in any browser. The caller writes it
// to a file (the CLI does, as report/index.html); this module uses no Node API.
//
// A number x is shown with p significant digits, x.toPrecision(p), switching
// to exponent form (1.234e-5) below 1e-3 and at 10^p or above; integers are
// shown whole. A cell { value, error } reads "value ± error", the error with
// two significant digits.

import { escapeXml } from './plot.ts';

// ---------------------------------------------------------------- blocks

/** One column of a table: its header, and how its numbers are written. */
export interface TableColumn {
  label: string;
  /** Significant digits for this column (default: the table's precision). */
  precision?: number;
  /** Fixed decimals instead of significant digits, e.g. 2 for "0.50". */
  decimals?: number;
  /** Default: 'right' for a column whose cells are all numbers, else 'left'. */
  align?: 'left' | 'right';
}

/** A table cell: text, a number, a number with its error, or empty (null). */
export type TableCell = string | number | null | undefined | { value: number; error?: number };

/** A piece of the page, in order. Text is escaped; in paragraphs and list items `backticks` mark code. */
export type ReportBlock =
  | { kind: 'heading'; text: string; level?: 1 | 2 | 3 | 4 }
  | { kind: 'paragraph'; text: string }
  | { kind: 'list'; items: string[] }
  | { kind: 'code'; text: string }
  | { kind: 'table'; columns: (string | TableColumn)[]; rows: TableCell[][]; caption?: string; precision?: number }
  | { kind: 'figure'; svg: string; caption?: string };

/** Options of `htmlReport`. */
export interface ReportOptions {
  /** The page title (the <title> and the first heading). */
  title: string;
  blocks: ReportBlock[];
  /** Significant digits for numbers in tables (default 4). */
  precision?: number;
  /** A table of contents linking the level-2 headings. Default: when there are 3 or more. */
  contents?: boolean;
  /** A line of small print at the bottom, e.g. the command and seed that made the page. */
  footer?: string;
}

/** A heading block (level 2 by default: level 1 is the page title). */
export function heading(text: string, level: 1 | 2 | 3 | 4 = 2): ReportBlock {
  return { kind: 'heading', text, level };
}

/** A paragraph block; `backticks` mark inline code. */
export function paragraph(text: string): ReportBlock {
  return { kind: 'paragraph', text };
}

/** A bulleted list block. */
export function list(items: string[]): ReportBlock {
  return { kind: 'list', items };
}

/** A preformatted block, e.g. a command line or a plain-text table. */
export function code(text: string): ReportBlock {
  return { kind: 'code', text };
}

/** A table block; numbers are formatted per column (see TableColumn) or with `precision` significant digits. */
export function table(columns: (string | TableColumn)[], rows: TableCell[][], options: { caption?: string; precision?: number } = {}): ReportBlock {
  return { kind: 'table', columns, rows, ...options };
}

/** A figure block: an SVG string (as made by lineChart or barChart) shown inline, with a caption. */
export function figure(svg: string, caption?: string): ReportBlock {
  return { kind: 'figure', svg, caption };
}

// ---------------------------------------------------------------- numbers

function checkDigits(owner: string, name: string, v: unknown, lo: number, hi: number): void {
  if (v !== undefined && (typeof v !== 'number' || !Number.isInteger(v) || v < lo || v > hi)) {
    throw new RangeError(`${owner}: ${name} must be an integer from ${lo} to ${hi}, got ${String(v)}`);
  }
}

/**
 * Writes a number for a table: `precision` significant digits (default 4),
 * or `decimals` fixed decimals. Integers below 1e15 are written whole (counts
 * of samples), unless `decimals` is given. Exponent form (1.235e-5) below
 * 1e-3 and at 10^precision or above. NaN → "NaN", ±Infinity → "∞", "−∞".
 */
export function formatNumber(v: number, options: { precision?: number; decimals?: number } = {}): string {
  checkDigits('formatNumber', 'precision', options.precision, 1, 21);
  checkDigits('formatNumber', 'decimals', options.decimals, 0, 20);
  if (typeof v !== 'number') throw new TypeError(`formatNumber: expects a number, got ${typeof v}`);
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '∞';
  if (v === -Infinity) return '−∞';
  if (options.decimals !== undefined) return tidyZero(v.toFixed(options.decimals));
  if (Number.isInteger(v) && Math.abs(v) < 1e15) return String(v);
  const p = options.precision ?? 4;
  const a = Math.abs(v);
  if (a >= 1e-3 && a < 10 ** p) return v.toPrecision(p);
  return v.toExponential(p - 1).replace('e+', 'e');
}

/** "-0.00" is "0.00": a rounded zero has no sign worth showing. */
function tidyZero(s: string): string {
  return /^-0(\.0*)?$/.test(s) ? s.slice(1) : s;
}

function cellText(cell: TableCell, column: TableColumn, precision: number, where: string): string {
  if (cell === null || cell === undefined) return '—';
  if (typeof cell === 'string') return cell;
  const digits = { precision: column.precision ?? precision, decimals: column.decimals };
  if (typeof cell === 'number') return formatNumber(cell, digits);
  if (typeof cell === 'object' && typeof cell.value === 'number') {
    const value = formatNumber(cell.value, digits);
    if (cell.error === undefined) return value;
    if (typeof cell.error !== 'number') throw new TypeError(`htmlReport: ${where} error must be a number, got ${typeof cell.error}`);
    return `${value} ± ${formatNumber(cell.error, { precision: 2 })}`;
  }
  throw new TypeError(`htmlReport: ${where} must be a string, a number, { value, error? } or null, got ${JSON.stringify(cell)}`);
}

// ---------------------------------------------------------------- HTML

/** Escaped text in which `backticks` become <code>. */
function inline(text: string): string {
  return escapeXml(String(text)).replace(/`([^`]+)`/g, '<code>$1</code>');
}

/** The SVG element of a figure, without an XML declaration or doctype (not allowed inside HTML). */
function inlineSvg(svg: unknown, where: string): string {
  if (typeof svg !== 'string') throw new TypeError(`htmlReport: ${where} svg must be a string, got ${typeof svg}`);
  const body = svg.replace(/^\s*<\?xml[^>]*\?>\s*/, '').replace(/^\s*<!DOCTYPE[^>]*>\s*/i, '').trim();
  if (!body.startsWith('<svg') || !body.endsWith('</svg>')) {
    throw new RangeError(`htmlReport: ${where} is not an SVG element (starts with ${JSON.stringify(body.slice(0, 20))}); pass the string from lineChart or barChart`);
  }
  return body;
}

const STYLE = `
  body { font-family: "DejaVu Sans", Helvetica, Arial, sans-serif; color: #222; background: #fff; max-width: 1000px; margin: 2em auto; padding: 0 1em; line-height: 1.45; }
  h1 { font-size: 1.7em; margin-bottom: 0.2em; }
  h2 { font-size: 1.35em; margin-top: 1.8em; border-bottom: 1px solid #ddd; padding-bottom: 0.2em; }
  h3 { font-size: 1.12em; margin-top: 1.4em; }
  code, pre { font-family: "DejaVu Sans Mono", Menlo, Consolas, monospace; font-size: 0.9em; }
  code { background: #f3f3f3; padding: 0 0.25em; border-radius: 3px; }
  pre { background: #f6f6f6; padding: 0.7em 1em; overflow-x: auto; border-radius: 4px; }
  table { border-collapse: collapse; margin: 1em 0; font-size: 0.92em; }
  caption { caption-side: top; text-align: left; font-weight: bold; padding-bottom: 0.4em; }
  th, td { padding: 0.3em 0.75em; border-bottom: 1px solid #e2e2e2; }
  th { border-bottom: 2px solid #999; text-align: left; white-space: nowrap; }
  td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
  tbody tr:nth-child(even) { background: #fafafa; }
  figure { margin: 1.2em 0; }
  figure svg { max-width: 100%; height: auto; }
  figcaption { color: #555; font-size: 0.92em; margin-top: 0.3em; }
  nav ul { padding-left: 1.2em; }
  footer { margin-top: 3em; color: #777; font-size: 0.85em; border-top: 1px solid #ddd; padding-top: 0.5em; }
`;

function renderTable(block: Extract<ReportBlock, { kind: 'table' }>, precision: number, index: number): string {
  const where = `block ${index} (table)`;
  if (!Array.isArray(block.columns) || !Array.isArray(block.rows)) throw new TypeError(`htmlReport: ${where} needs columns and rows arrays`);
  checkDigits('htmlReport', `${where} precision`, block.precision, 1, 21);
  const columns: TableColumn[] = block.columns.map((c) => (typeof c === 'string' ? { label: c } : c));
  for (const c of columns) {
    checkDigits('htmlReport', `${where} column '${c.label}' precision`, c.precision, 1, 21);
    checkDigits('htmlReport', `${where} column '${c.label}' decimals`, c.decimals, 0, 20);
  }
  const digits = block.precision ?? precision;
  block.rows.forEach((row, r) => {
    if (!Array.isArray(row) || row.length !== columns.length) {
      throw new RangeError(`htmlReport: ${where} row ${r} has ${Array.isArray(row) ? row.length : 'no'} cells but there are ${columns.length} columns`);
    }
  });
  // A column is numeric (right-aligned) when every filled cell in it is a number.
  const numeric = columns.map((c, j) => c.align === 'right' || (c.align === undefined && block.rows.length > 0
    && block.rows.every((row) => row[j] === null || row[j] === undefined || typeof row[j] !== 'string')));
  const cls = (j: number) => (numeric[j] ? ' class="num"' : '');
  const out: string[] = ['<table>'];
  if (block.caption) out.push(`<caption>${inline(block.caption)}</caption>`);
  out.push(`<thead><tr>${columns.map((c, j) => `<th${cls(j)}>${escapeXml(c.label)}</th>`).join('')}</tr></thead>`);
  out.push('<tbody>');
  block.rows.forEach((row, r) => {
    const cells = row.map((cell, j) => `<td${cls(j)}>${escapeXml(cellText(cell, columns[j], digits, `${where} row ${r} column '${columns[j].label}'`))}</td>`);
    out.push(`<tr>${cells.join('')}</tr>`);
  });
  out.push('</tbody>', '</table>');
  return out.join('\n');
}

/**
 * Builds a self-contained HTML page from blocks, in order: headings,
 * paragraphs, lists, code, tables (numbers to `precision` significant digits)
 * and inline SVG figures. Returns the page as a string; writing it is the
 * caller's job.
 *
 *   htmlReport({ title: 'mcgrad compare', blocks: [
 *     heading('Categorical, K = 10'),
 *     table(['estimator', 'variance', 'bias'], [['reinforce', 0.0213, { value: 1e-4, error: 3e-4 }]]),
 *     figure(barChart({ ... }), 'Variance per estimator, 95% intervals.') ] })
 */
export function htmlReport(options: ReportOptions): string {
  if (options === null || typeof options !== 'object') throw new TypeError(`htmlReport: expects { title, blocks }, got ${options === null ? 'null' : typeof options}`);
  if (typeof options.title !== 'string') throw new TypeError(`htmlReport: title must be a string, got ${typeof options.title}`);
  if (!Array.isArray(options.blocks)) throw new TypeError(`htmlReport: blocks must be an array, got ${typeof options.blocks}`);
  checkDigits('htmlReport', 'precision', options.precision, 1, 21);
  const precision = options.precision ?? 4;

  // Level-2 headings get ids s1, s2, … for the table of contents: stable and never colliding.
  const sections: { id: string; text: string }[] = [];
  const body: string[] = [];
  options.blocks.forEach((block, i) => {
    if (block === null || typeof block !== 'object') throw new TypeError(`htmlReport: block ${i} must be an object with a kind, got ${block === null ? 'null' : typeof block}`);
    switch (block.kind) {
      case 'heading': {
        const level = block.level ?? 2;
        if (![1, 2, 3, 4].includes(level)) throw new RangeError(`htmlReport: block ${i} heading level must be 1 to 4, got ${level}`);
        if (level === 2) {
          const id = `s${sections.length + 1}`;
          sections.push({ id, text: block.text });
          body.push(`<h2 id="${id}">${inline(block.text)}</h2>`);
        } else body.push(`<h${level}>${inline(block.text)}</h${level}>`);
        break;
      }
      case 'paragraph':
        body.push(`<p>${inline(block.text)}</p>`);
        break;
      case 'list':
        if (!Array.isArray(block.items)) throw new TypeError(`htmlReport: block ${i} (list) items must be an array, got ${typeof block.items}`);
        body.push(`<ul>\n${block.items.map((item) => `<li>${inline(item)}</li>`).join('\n')}\n</ul>`);
        break;
      case 'code':
        body.push(`<pre>${escapeXml(String(block.text))}</pre>`);
        break;
      case 'table':
        body.push(renderTable(block, precision, i));
        break;
      case 'figure': {
        const svg = inlineSvg(block.svg, `block ${i} (figure)`);
        body.push(`<figure>\n${svg}${block.caption ? `\n<figcaption>${inline(block.caption)}</figcaption>` : ''}\n</figure>`);
        break;
      }
      default:
        throw new TypeError(`htmlReport: block ${i} has unknown kind ${JSON.stringify((block as { kind: unknown }).kind)}; use heading, paragraph, list, code, table or figure`);
    }
  });

  const contents = options.contents ?? sections.length >= 3;
  const nav = contents && sections.length > 0
    ? `<nav>\n<ul>\n${sections.map((s) => `<li><a href="#${s.id}">${inline(s.text)}</a></li>`).join('\n')}\n</ul>\n</nav>`
    : '';
  return [
    '<!DOCTYPE html>',
    '<html lang="en">',
    '<head>',
    '<meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    `<title>${escapeXml(options.title)}</title>`,
    `<style>${STYLE}</style>`,
    '</head>',
    '<body>',
    `<h1>${inline(options.title)}</h1>`,
    nav,
    ...body,
    options.footer ? `<footer>${inline(options.footer)}</footer>` : '',
    '</body>',
    '</html>',
    '',
  ].filter((line, i, all) => line !== '' || i === all.length - 1).join('\n');
}
