// Text helpers for messages.

/**
 * The first line of a (possibly multi-line) message.
 *
 * @example
 * firstLine('fatal: bad revision\nusage: …'); // 'fatal: bad revision'
 */
export function firstLine(text: string): string {
  const end = text.indexOf('\n');
  return end < 0 ? text : text.slice(0, end);
}
