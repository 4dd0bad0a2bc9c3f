// `data:image/png;base64,…` URLs, as a canvas's toDataURL() makes them, to bytes.
import { ApiError } from './http-errors.js';

/** What the route schemas accept as an image data URL. */
export const DATA_URL_PATTERN = '^data:image/(png|jpeg|jpg);base64,';

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/**
 * Decodes a base64 data URL (or, for the legacy JSON body, bare base64) to bytes.
 *
 * @example
 * ```ts
 * const png = dataUrlBytes(body.image, 'image');
 * ```
 */
export function dataUrlBytes(value: string, name: string, allowBare = false): Buffer {
  const comma = value.indexOf(',');
  const isUrl = value.startsWith('data:');
  if (isUrl && !/^data:image\/(png|jpeg|jpg);base64$/i.test(value.slice(0, comma)))
    throw new ApiError(
      415,
      'unsupported_media_type',
      `${name}: only base64 PNG or JPEG data URLs are accepted`,
    );
  if (!isUrl && !allowBare)
    throw new ApiError(400, 'bad_request', `${name} must be a data:image/…;base64, URL`);
  const payload = isUrl ? value.slice(comma + 1) : value;
  if (!BASE64.test(payload))
    throw new ApiError(400, 'bad_request', `${name}: the data URL is not valid base64`);
  return Buffer.from(payload, 'base64');
}
