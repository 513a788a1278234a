// 8-bit grayscale BMPs as model input: the pixel bytes, rows top to bottom (BMP stores them
// bottom-up unless its height is negative), each row without its 4-byte padding. The bytes go
// into the int8 tensor unchanged, as TFLM's person_detect example feeds its test images.
import { InferInputError } from './errors.js';

export interface GrayImage {
  readonly width: number;
  readonly height: number;
  readonly pixels: Uint8Array;
}

export function readGrayBmp(file: Uint8Array): GrayImage {
  if (file.length < 54 || file[0] !== 0x42 || file[1] !== 0x4d) throw new InferInputError('bmp', 'a BMP file ("BM" and a 54-byte header)');
  const v = new DataView(file.buffer, file.byteOffset, file.length);
  const dataAt = v.getUint32(10, true);
  const width = v.getInt32(18, true);
  const rawHeight = v.getInt32(22, true);
  const bits = v.getUint16(28, true);
  const compression = v.getUint32(30, true);
  if (bits !== 8 || compression !== 0) throw new InferInputError('bmp', 'an uncompressed 8-bit image', `${bits} bits, compression ${compression}`);
  const height = Math.abs(rawHeight);
  if (width < 1 || height < 1 || width > 65536 || height > 65536) throw new InferInputError('bmp size', 'width and height from 1 to 65536', [width, rawHeight]);
  const stride = Math.ceil(width / 4) * 4;
  if (dataAt + stride * height > file.length) throw new InferInputError('bmp', `${dataAt + stride * height} bytes for a ${width}x${height} image`, `${file.length} bytes`);
  const pixels = new Uint8Array(width * height);
  for (let y = 0; y < height; y++) {
    const row = rawHeight > 0 ? height - 1 - y : y;
    pixels.set(file.subarray(dataAt + row * stride, dataAt + row * stride + width), y * width);
  }
  return { width, height, pixels };
}
