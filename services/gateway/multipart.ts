import { GatewayError } from './http-error.js';

/** One part of a multipart/form-data body: a text field, or a file when it has a filename. */
export interface FormPart {
  name: string;
  filename?: string;
  contentType?: string;
  data: Buffer;
}

/** A form holds a few fields (a photo or two and their options); more parts than this is not one of ours. */
export const MAX_FORM_PARTS = 8;
/** The headers of one part (Content-Disposition, Content-Type) fit in this many bytes. */
const MAX_PART_HEADER_BYTES = 2048;

const CRLF = Buffer.from('\r\n');
const HEADER_END = Buffer.from('\r\n\r\n');

/**
 * The boundary of a multipart/form-data request, or undefined when the content-type is
 * something else (or missing). A multipart type without a usable boundary is a bad request.
 */
export function multipartBoundary(contentType: string | undefined): string | undefined {
  if (!contentType || contentType.split(';')[0].trim().toLowerCase() !== 'multipart/form-data') return undefined;
  const boundary = /;\s*boundary=(?:"([^"]{1,70})"|([^\s;"]{1,70}))/i.exec(contentType);
  if (!boundary) throw new GatewayError('bad_request', 'multipart/form-data without a boundary (1 to 70 characters) in its content-type');
  return boundary[1] ?? boundary[2];
}

/**
 * A whole multipart/form-data body (RFC 7578), strictly: it starts with the first delimiter
 * (no preamble), every part names its field in a `form-data` Content-Disposition, a field
 * appears once, at most MAX_FORM_PARTS parts, and the closing delimiter ends it. The body's
 * size is bounded before it gets here (readBody).
 */
export function parseMultipart(body: Buffer, boundary: string): Map<string, FormPart> {
  const delimiter = Buffer.from(`--${boundary}`);
  const nextDelimiter = Buffer.concat([CRLF, delimiter]);
  const malformed = (why: string) => new GatewayError('bad_request', `malformed multipart/form-data body: ${why}`);
  if (!body.subarray(0, delimiter.length).equals(delimiter)) throw malformed('it does not start with the boundary of its content-type');
  const parts = new Map<string, FormPart>();
  let at = delimiter.length;
  for (;;) {
    const after = body.subarray(at, at + 2).toString('latin1');
    if (after === '--') break;
    if (after !== '\r\n') throw malformed('a boundary is not followed by a line break or "--"');
    const start = at + 2;
    const end = body.indexOf(nextDelimiter, start);
    if (end < 0) throw malformed('no closing boundary (the body was cut short?)');
    if (parts.size >= MAX_FORM_PARTS) throw new GatewayError('bad_request', `more than ${MAX_FORM_PARTS} parts in the form`);
    const part = parsePart(body.subarray(start, end), malformed);
    if (parts.has(part.name)) throw new GatewayError('bad_request', `form field ${JSON.stringify(part.name)} is sent twice`);
    parts.set(part.name, part);
    at = end + nextDelimiter.length;
  }
  if (parts.size === 0) throw new GatewayError('bad_request', 'the form holds no fields');
  return parts;
}

function parsePart(raw: Buffer, malformed: (why: string) => GatewayError): FormPart {
  const headerEnd = raw.indexOf(HEADER_END);
  if (headerEnd < 0 || headerEnd > MAX_PART_HEADER_BYTES) throw malformed(`a part's headers do not end (a blank line) within ${MAX_PART_HEADER_BYTES} bytes`);
  const headers = new Map<string, string>();
  for (const line of raw.subarray(0, headerEnd).toString('utf8').split('\r\n')) {
    const colon = line.indexOf(':');
    if (colon <= 0) throw malformed(`a part header is not "Name: value": ${JSON.stringify(line.slice(0, 80))}`);
    headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
  }
  const disposition = headers.get('content-disposition');
  if (!disposition || !/^form-data\s*(;|$)/i.test(disposition)) throw malformed('a part without "Content-Disposition: form-data"');
  const name = dispositionParam(disposition, 'name');
  if (!name) throw malformed('a part without a field name (Content-Disposition: form-data; name="...")');
  const filename = dispositionParam(disposition, 'filename');
  const contentType = headers.get('content-type');
  return { name, data: raw.subarray(headerEnd + HEADER_END.length), ...(filename !== undefined ? { filename } : {}), ...(contentType ? { contentType } : {}) };
}

/** A parameter of a Content-Disposition header, quoted (with \" escapes) or a bare token. */
function dispositionParam(header: string, param: string): string | undefined {
  const match = new RegExp(`;\\s*${param}=(?:"((?:[^"\\\\]|\\\\.)*)"|([^;\\s"]+))`, 'i').exec(header);
  if (!match) return undefined;
  return match[1] !== undefined ? match[1].replace(/\\(.)/g, '$1') : match[2];
}
