// The first error of a failed parse (zod validation, YAML syntax), for the one-line messages
// that config, lock and pipeline errors give.
import type { Document, LineCounter } from 'yaml';
import type { z } from 'zod';
import { present } from './invariants.js';
import { firstLine } from './text.js';

/**
 * The first issue of a failed zod parse (zod reports at least one).
 *
 * @example
 * const result = schema.safeParse(raw);
 * if (!result.success) throw new Error(firstIssue(result.error).message);
 */
export function firstIssue(error: z.ZodError): z.core.$ZodIssue {
  return present(error.issues[0], 'the issue of a failed validation');
}

/**
 * The first syntax error of a YAML document, with its 1-based line and column, or undefined
 * when the document parsed.
 *
 * @example
 * const lines = new LineCounter();
 * const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false });
 * const error = firstYamlError(doc, lines); // { message, line, col } | undefined
 */
export function firstYamlError(
  doc: Document,
  lines: LineCounter,
): { message: string; line: number; col: number } | undefined {
  const [error] = doc.errors;
  if (error === undefined) return undefined;
  const pos = error.linePos?.[0] ?? lines.linePos(error.pos[0]);
  return { message: firstLine(error.message), line: pos.line, col: pos.col };
}
