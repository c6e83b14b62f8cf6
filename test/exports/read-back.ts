import { expect } from 'vitest';
/**
 * Independent readers of the export formats, written from their specifications (MOTChallenge's
 * text, RFC 4180), not from posepipe's writers, so a test reads an export as another tool would.
 */

/** MOTChallenge lines as numbers: frame, id, x, y, w, h, conf, x3d, y3d, z3d. */
export function readMot(text: string): number[][] {
  expect(text.endsWith('\n') || text === '').toBe(true);
  return text
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => {
      const cells = line.split(',');
      expect(cells, line).toHaveLength(10);
      return cells.map((c) => {
        expect(c, line).toMatch(/^-?\d+(\.\d+)?(e-?\d+)?$/);
        return Number(c);
      });
    });
}

/** RFC 4180 records: CRLF line ends, fields quoted with "" for a quote inside. */
export function readCsv(text: string): string[][] {
  const records: string[][] = [];
  let record: string[] = [];
  let field = '';
  let i = 0;
  while (i < text.length) {
    const ch = text[i]!;
    if (ch === '"' && field === '') {
      // A quoted field runs to the next quote not doubled.
      i += 1;
      for (;;) {
        const q = text.indexOf('"', i);
        if (q < 0) throw new Error('unterminated quoted field');
        field += text.slice(i, q);
        if (text[q + 1] === '"') {
          field += '"';
          i = q + 2;
        } else {
          i = q + 1;
          break;
        }
      }
    } else if (ch === ',') {
      record.push(field);
      field = '';
      i += 1;
    } else if (ch === '\r' && text[i + 1] === '\n') {
      record.push(field);
      records.push(record);
      record = [];
      field = '';
      i += 2;
    } else {
      if (ch === '\n' || ch === '\r') throw new Error(`a bare line end at ${i}: RFC 4180 ends lines with CRLF`);
      field += ch;
      i += 1;
    }
  }
  if (field !== '' || record.length) throw new Error('the last record has no CRLF');
  return records;
}
