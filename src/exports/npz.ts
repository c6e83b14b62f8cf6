/**
 * numpy's `.npz` written from Node without a dependency: a zip archive (method "stored", CRC-32,
 * no zip64) of `.npy` files in NPY format 1.0, little-endian, C order, as `numpy.savez` writes
 * them; `numpy.load` reads them with `allow_pickle=False` (no object arrays).
 */
import { crc32 } from 'node:zlib';

/** One array to store: its dtype (`<f8`, `<i8`, `<U7`, …), shape and raw little-endian bytes. */
export interface NpyArray {
  name: string;
  dtype: string;
  shape: readonly number[];
  data: Uint8Array;
}

/** A float64 array of this shape (values in C order). */
export function float64Array(name: string, shape: readonly number[], values: ArrayLike<number>): NpyArray {
  return checked({ name, dtype: '<f8', shape, data: new Uint8Array(Float64Array.from(values).buffer) });
}

/** An int64 array of this shape (values in C order; integers up to 2^53). */
export function int64Array(name: string, shape: readonly number[], values: ArrayLike<number>): NpyArray {
  return checked({ name, dtype: '<i8', shape, data: new Uint8Array(BigInt64Array.from(Array.from(values), (v) => BigInt(v)).buffer) });
}

/** A 0-d unicode string (numpy's `<U` dtype: UTF-32LE), as `numpy.array('neutral')` is stored. */
export function stringScalar(name: string, text: string): NpyArray {
  const points = Array.from(text, (c) => c.codePointAt(0)!);
  const data = new Uint8Array(Math.max(1, points.length) * 4);
  const view = new DataView(data.buffer);
  points.forEach((p, i) => view.setUint32(i * 4, p, true));
  return { name, dtype: `<U${Math.max(1, points.length)}`, shape: [], data };
}

function checked(array: NpyArray): NpyArray {
  const count = array.shape.reduce((a, b) => a * b, 1);
  const size = Number(array.dtype.slice(2));
  if (array.data.length !== count * size) {
    throw new TypeError(`npz: ${array.name} holds ${array.data.length / size} values for shape (${array.shape.join(', ')})`);
  }
  return array;
}

/** The `.npy` bytes of one array: magic, version 1.0, a header padded to a multiple of 64, the data. */
export function npyBytes(array: NpyArray): Buffer {
  const shape = array.shape.length === 1 ? `(${array.shape[0]},)` : `(${array.shape.join(', ')})`;
  let header = `{'descr': '${array.dtype}', 'fortran_order': False, 'shape': ${shape}, }`;
  const unpadded = 10 + header.length + 1;
  header += `${' '.repeat((64 - (unpadded % 64)) % 64)}\n`;
  const prefix = Buffer.alloc(10);
  prefix.write('\x93NUMPY', 0, 'latin1');
  prefix[6] = 1;
  prefix[7] = 0;
  prefix.writeUInt16LE(header.length, 8);
  return Buffer.concat([prefix, Buffer.from(header, 'latin1'), array.data]);
}

/** A fixed date for every entry (1980-01-01 00:00), so the same arrays give the same bytes. */
const DOS_DATE = (0 << 9) | (1 << 5) | 1;

/** The `.npz` bytes of these arrays, each as `<name>.npy`, in the order given. */
export function npzBytes(arrays: readonly NpyArray[]): Buffer {
  const pieces: Buffer[] = [];
  const central: Buffer[] = [];
  let offset = 0;
  for (const array of arrays) {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(array.name)) throw new TypeError(`npz: bad array name ${JSON.stringify(array.name)}`);
    const name = Buffer.from(`${array.name}.npy`, 'latin1');
    const body = npyBytes(array);
    const crc = crc32(body);
    if (offset + body.length + 30 + name.length > 0xffff_ffff) throw new RangeError('npz: over 4 GiB (zip64 is not written)');
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4); // version needed: 2.0
    local.writeUInt16LE(0, 6); // flags
    local.writeUInt16LE(0, 8); // method: stored
    local.writeUInt16LE(0, 10); // time
    local.writeUInt16LE(DOS_DATE, 12);
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(body.length, 18);
    local.writeUInt32LE(body.length, 22);
    local.writeUInt16LE(name.length, 26);
    local.writeUInt16LE(0, 28);
    const entry = Buffer.alloc(46);
    entry.writeUInt32LE(0x02014b50, 0);
    entry.writeUInt16LE(20, 4); // made by
    entry.writeUInt16LE(20, 6); // needed
    entry.writeUInt16LE(0, 8);
    entry.writeUInt16LE(0, 10);
    entry.writeUInt16LE(0, 12);
    entry.writeUInt16LE(DOS_DATE, 14);
    entry.writeUInt32LE(crc, 16);
    entry.writeUInt32LE(body.length, 20);
    entry.writeUInt32LE(body.length, 24);
    entry.writeUInt16LE(name.length, 28);
    // extra, comment, disk, internal and external attributes: 0
    entry.writeUInt32LE(offset, 42);
    pieces.push(local, name, body);
    central.push(entry, name);
    offset += local.length + name.length + body.length;
  }
  const directory = Buffer.concat(central);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(arrays.length, 8);
  end.writeUInt16LE(arrays.length, 10);
  end.writeUInt32LE(directory.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...pieces, directory, end]);
}
