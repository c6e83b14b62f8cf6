/**
 * numpy's `.npy` arrays from Node without a dependency: NPY format 1.0, little-endian, C order, as
 * `numpy.savez` writes them into an `.npz` (src/exports/zip.ts puts them in the zip, stored, with
 * their CRC-32; no zip64); `numpy.load` reads them with `allow_pickle=False` (no object arrays).
 */
/** One array to store: its dtype (`<f8`, `<i8`, `<U7`, …), shape and raw little-endian bytes. */
export interface NpyArray {
  name: string;
  dtype: string;
  shape: readonly number[];
  data: Uint8Array;
}

/** A float64 array of this shape (values in C order; a Float64Array is used in place, not copied). */
export function float64Array(name: string, shape: readonly number[], values: ArrayLike<number>): NpyArray {
  const floats = values instanceof Float64Array ? values : Float64Array.from(values);
  return checked({ name, dtype: '<f8', shape, data: new Uint8Array(floats.buffer, floats.byteOffset, floats.byteLength) });
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

/** The `.npy` header of one array: magic, version 1.0, the header text padded to a multiple of 64; the data follows. */
export function npyHeader(array: NpyArray): Buffer {
  const shape = array.shape.length === 1 ? `(${array.shape[0]},)` : `(${array.shape.join(', ')})`;
  let header = `{'descr': '${array.dtype}', 'fortran_order': False, 'shape': ${shape}, }`;
  const unpadded = 10 + header.length + 1;
  header += `${' '.repeat((64 - (unpadded % 64)) % 64)}\n`;
  const prefix = Buffer.alloc(10);
  prefix.write('\x93NUMPY', 0, 'latin1');
  prefix[6] = 1;
  prefix[7] = 0;
  prefix.writeUInt16LE(header.length, 8);
  return Buffer.concat([prefix, Buffer.from(header, 'latin1')]);
}

/** A fixed date for every entry (1980-01-01 00:00), so the same arrays give the same bytes. */
export const DOS_DATE = (0 << 9) | (1 << 5) | 1;
