import { z } from 'zod';
import { describeIssues } from '../../libs/protocol/index.js';
import { GatewayError } from './http-error.js';
import type { FormPart } from './multipart.js';

/** What the encoder decodes (libs/face-encoder), told by the file's first bytes, not by its name or declared type. */
const IMAGE_SIGNATURES: Array<{ type: string; test: (b: Buffer) => boolean }> = [
  { type: 'JPEG', test: (b) => b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff },
  { type: 'PNG', test: (b) => b.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])) },
  { type: 'WebP', test: (b) => b.subarray(0, 4).toString('latin1') === 'RIFF' && b.subarray(8, 12).toString('latin1') === 'WEBP' },
];

/** A route's multipart form as documented: the file fields it needs and its text fields' schema. */
export interface UploadSpec {
  /** Fields that carry a photo, all required. */
  photos: string[];
  /** The text fields (all optional): each arrives as a string and is checked by this schema. */
  fields: z.ZodObject;
}

/**
 * A multipart form a route received: its photos, checked to be images, and its text fields,
 * checked by the route's schema. A field the route does not know is refused (a typo is not
 * silently ignored).
 */
export class UploadForm {
  constructor(
    private readonly parts: Map<string, FormPart>,
    private readonly spec: UploadSpec,
  ) {
    const known = new Set([...spec.photos, ...Object.keys(spec.fields.shape)]);
    for (const name of parts.keys()) {
      if (!known.has(name)) throw new GatewayError('bad_request', `unknown form field ${JSON.stringify(name)}: this route takes ${[...known].join(', ')}`);
    }
  }

  /** The image bytes of a photo field: 400 when missing or empty, 415 when not a JPEG, PNG or WebP. */
  photo(field: string): Buffer {
    const part = this.parts.get(field);
    if (!part) throw new GatewayError('bad_request', `no photo: send the image file as the form field "${field}"`);
    if (part.data.length === 0) throw new GatewayError('bad_request', `form field "${field}" is empty: send an image file`);
    if (!IMAGE_SIGNATURES.some((s) => s.test(part.data))) {
      const named = part.filename ? ` (${JSON.stringify(part.filename)})` : '';
      throw new GatewayError('unsupported_media_type', `form field "${field}"${named} is not an image: send a JPEG, PNG or WebP file`);
    }
    return part.data;
  }

  /** The file name a photo field was sent with, if any (what a page's file picker names it). */
  filename(field: string): string | undefined {
    return this.parts.get(field)?.filename;
  }

  /** The text fields, parsed by the spec's schema (numbers and booleans coerced by it). */
  fields<T extends z.ZodObject>(schema: T = this.spec.fields as T): z.infer<T> {
    const raw: Record<string, string> = {};
    for (const [name, part] of this.parts) {
      if (this.spec.photos.includes(name)) continue;
      if (part.filename !== undefined) throw new GatewayError('bad_request', `form field "${name}" is a file; it takes a value`);
      raw[name] = part.data.toString('utf8');
    }
    const parsed = schema.safeParse(raw);
    if (!parsed.success) throw new GatewayError('bad_request', describeIssues(parsed.error, 'form'));
    return parsed.data;
  }
}

/** A form text field of a number: "0.5" -> 0.5; anything else is refused by `inner`. */
export const formNumber = <T extends z.ZodType>(inner: T) => z.preprocess((v) => (typeof v === 'string' && v.trim() !== '' ? Number(v) : v), inner);

/** A form text field of a boolean: exactly "true" or "false". */
export const formBoolean = z.enum(['true', 'false'], 'must be true or false').transform((v) => v === 'true');

/** A form text field holding JSON ("{\"0\": 12}"), then checked by `inner`; text that is not JSON is refused saying so. */
export const formJson = <T extends z.ZodType>(inner: T) =>
  z.preprocess((v, ctx) => {
    if (typeof v !== 'string') return v;
    try {
      return JSON.parse(v) as unknown;
    } catch {
      ctx.addIssue({ code: 'custom', message: `must be JSON, got ${JSON.stringify(v.slice(0, 40))}` });
      return z.NEVER;
    }
  }, inner);
