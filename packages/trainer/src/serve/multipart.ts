// multipart/form-data (RFC 7578) of a body that is already buffered (and so bounded by the body limit):
// fields by name, each value the part's bytes as a binary (latin1) string — what OpenAPI calls
// `format: binary` — so that the route schemas validate uploads like any other field.
import { ApiError } from './http-errors.js';

/** Parsed fields: one string, or several for a repeated name. */
export type MultipartFields = Record<string, string | string[]>;

function bad(message: string): ApiError {
  return new ApiError(400, 'bad_request', `multipart body: ${message}`);
}

function boundaryOf(contentType: string): string {
  const m = /;\s*boundary=(?:"([^"]{1,70})"|([^;\s]{1,70}))/i.exec(contentType);
  const boundary = m?.[1] ?? m?.[2];
  if (!boundary) throw bad('the content-type has no boundary parameter');
  return boundary;
}

// The part's `name="…"` (quoted, with backslash escapes) or bare token.
const NAME_PARAM = /;\s*name="((?:[^"\\]|\\.)*)"|;\s*name=([^;\s]+)/i;

function partName(disposition: string): string | undefined {
  const m = NAME_PARAM.exec(disposition);
  if (!m) return undefined;
  return m[1] !== undefined ? m[1].replace(/\\(.)/g, '$1') : m[2];
}

/**
 * Parses a buffered multipart/form-data body; at most `maxParts` parts.
 *
 * @example
 * ```ts
 * const fields = parseMultipart(body, req.headers['content-type'] ?? '', 65);
 * const png = Buffer.from(fields.file as string, 'latin1');
 * ```
 */
export function parseMultipart(body: Buffer, contentType: string, maxParts: number): MultipartFields {
  const boundary = boundaryOf(contentType);
  const delimiter = Buffer.from(`--${boundary}`, 'latin1');
  const partEnd = Buffer.from(`\r\n--${boundary}`, 'latin1');
  const fields: MultipartFields = {};
  let at = body.indexOf(delimiter);
  if (at < 0) throw bad('no part starts with the boundary');
  let parts = 0;
  for (;;) {
    at += delimiter.length;
    if (body[at] === 0x2d && body[at + 1] === 0x2d) break; // closing delimiter "--"
    // Transport padding (spaces, tabs), then CRLF.
    while (body[at] === 0x20 || body[at] === 0x09) at++;
    if (body[at] !== 0x0d || body[at + 1] !== 0x0a) throw bad('malformed boundary line');
    at += 2;
    const headersEnd = body.indexOf('\r\n\r\n', at, 'latin1');
    if (headersEnd < 0) throw bad('a part has no end of headers');
    const headers = body.toString('latin1', at, headersEnd).split('\r\n');
    const disposition = headers.find((h) => /^content-disposition\s*:/i.test(h));
    const name = disposition ? partName(disposition) : undefined;
    if (!disposition || !/:\s*form-data/i.test(disposition) || name === undefined)
      throw bad('a part lacks "Content-Disposition: form-data; name=…"');
    const start = headersEnd + 4;
    const end = body.indexOf(partEnd, start);
    if (end < 0) throw bad('truncated (the closing boundary is missing)');
    if (++parts > maxParts)
      throw new ApiError(413, 'payload_too_large', `multipart body: more than ${maxParts} parts`);
    const value = body.toString('latin1', start, end);
    const previous = fields[name];
    fields[name] =
      previous === undefined ? value : Array.isArray(previous) ? [...previous, value] : [previous, value];
    at = end + 2;
  }
  if (parts === 0) throw bad('no parts');
  return fields;
}
