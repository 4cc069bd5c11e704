import { open } from 'node:fs/promises';
import { deflateRawSync } from 'node:zlib';
import { crc32 } from './crc32.js';

/**
 * A small zip writer (no zip64, no encryption) for tests and benchmarks: it builds the
 * datasets the reader must cope with, including hostile ones no zip tool would write
 * (`../` names, absolute paths, bombs).
 */
export interface ZipWriteEntry {
  name: string;
  data: Uint8Array;
  /** Default 'deflate'; photos are usually 'store'd by zip tools that notice they do not shrink. */
  method?: 'store' | 'deflate';
}

export async function writeZip(file: string, entries: Iterable<ZipWriteEntry> | AsyncIterable<ZipWriteEntry>): Promise<void> {
  const handle = await open(file, 'w');
  try {
    const central: Buffer[] = [];
    let offset = 0;
    let count = 0;
    for await (const entry of entries) {
      const name = Buffer.from(entry.name, 'utf8');
      const method = entry.method ?? 'deflate';
      const body = method === 'deflate' ? deflateRawSync(entry.data) : Buffer.from(entry.data);
      const crc = crc32(entry.data);
      const local = Buffer.alloc(30);
      local.writeUInt32LE(0x04034b50, 0);
      local.writeUInt16LE(20, 4); // version needed
      local.writeUInt16LE(0x800, 6); // UTF-8 names
      local.writeUInt16LE(method === 'deflate' ? 8 : 0, 8);
      local.writeUInt32LE(0x21, 10); // DOS time/date: 1980-01-01 00:00
      local.writeUInt32LE(crc, 14);
      local.writeUInt32LE(body.length, 18);
      local.writeUInt32LE(entry.data.length, 22);
      local.writeUInt16LE(name.length, 26);
      local.writeUInt16LE(0, 28);
      await handle.write(Buffer.concat([local, name, body]));

      const header = Buffer.alloc(46);
      header.writeUInt32LE(0x02014b50, 0);
      header.writeUInt16LE(0x031e, 4); // made by: unix, 3.0
      header.writeUInt16LE(20, 6);
      header.writeUInt16LE(0x800, 8);
      header.writeUInt16LE(method === 'deflate' ? 8 : 0, 10);
      header.writeUInt32LE(0x21, 12);
      header.writeUInt32LE(crc, 16);
      header.writeUInt32LE(body.length, 20);
      header.writeUInt32LE(entry.data.length, 24);
      header.writeUInt16LE(name.length, 28);
      header.writeUInt32LE(offset, 42);
      central.push(header, name);
      offset += local.length + name.length + body.length;
      count++;
    }
    const directory = Buffer.concat(central);
    const end = Buffer.alloc(22);
    end.writeUInt32LE(0x06054b50, 0);
    end.writeUInt16LE(count, 8);
    end.writeUInt16LE(count, 10);
    end.writeUInt32LE(directory.length, 12);
    end.writeUInt32LE(offset, 16);
    await handle.write(Buffer.concat([directory, end]));
  } finally {
    await handle.close();
  }
}
