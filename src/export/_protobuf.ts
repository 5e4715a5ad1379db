/**
 * The protobuf wire format, write side only: the few field kinds an ONNX
 * model uses (varints, 32-bit floats, length-delimited bytes and messages,
 * packed floats).
 *
 * Written here rather than taken from a protobuf package: an ONNX file needs
 * only this writer and the field numbers of a dozen messages, while a
 * protobuf runtime plus code generated from `onnx.proto` would add tens of
 * kilobytes to the library's bundle, and a dependency, for the same bytes.
 *
 * @module
 */

/** The wire types this writer emits. */
const VARINT = 0;
const LENGTH_DELIMITED = 2;
const FIXED32 = 5;

/** Bytes gathered before they become a part of their own. */
const SMALL_BYTES = 256;

/**
 * One protobuf message being written. Fields are appended in call order;
 * a nested message is appended whole, without copying its bytes until
 * {@linkcode ProtoWriter.finish}.
 */
export class ProtoWriter {
  /** Finished parts, in order. */
  #parts: Uint8Array[] = [];
  /** Small writes not yet made a part. */
  #pending: number[] = [];
  #length = 0;

  /** Bytes written so far. */
  get length(): number {
    return this.#length;
  }

  /**
   * A varint field: an int32, int64 or enum value. Negative values take
   * ten bytes, their 64-bit two's complement.
   *
   * @param field The field number.
   * @param value A safe integer.
   * @returns This writer.
   */
  varint(field: number, value: number): this {
    this.#tag(field, VARINT);
    this.#varint(value);
    return this;
  }

  /**
   * A `float` field: four little-endian bytes.
   *
   * @param field The field number.
   * @param value The value, rounded to float32.
   * @returns This writer.
   */
  float(field: number, value: number): this {
    this.#tag(field, FIXED32);
    this.#append(floatBytes([value]));
    return this;
  }

  /**
   * A `bytes` field.
   *
   * @param field The field number.
   * @param data The bytes.
   * @returns This writer.
   */
  bytes(field: number, data: Uint8Array): this {
    this.#tag(field, LENGTH_DELIMITED);
    this.#varint(data.length);
    this.#append(data);
    return this;
  }

  /**
   * A `string` field, UTF-8.
   *
   * @param field The field number.
   * @param text The string.
   * @returns This writer.
   */
  string(field: number, text: string): this {
    return this.bytes(field, new TextEncoder().encode(text));
  }

  /**
   * A packed `repeated float` field: the values as one length-delimited
   * run of little-endian float32s.
   *
   * @param field The field number.
   * @param values The values.
   * @returns This writer.
   */
  packedFloats(field: number, values: ArrayLike<number>): this {
    return this.bytes(field, floatBytes(values));
  }

  /**
   * An embedded message field.
   *
   * @param field The field number.
   * @param message The message, complete; it must not be written to again.
   * @returns This writer.
   */
  message(field: number, message: ProtoWriter): this {
    this.#tag(field, LENGTH_DELIMITED);
    this.#varint(message.length);
    message.#flush();
    for (const part of message.#parts) this.#append(part);
    return this;
  }

  /**
   * The message's bytes.
   *
   * @returns A fresh array.
   */
  finish(): Uint8Array {
    this.#flush();
    const out = new Uint8Array(this.#length);
    let at = 0;
    for (const part of this.#parts) {
      out.set(part, at);
      at += part.length;
    }
    return out;
  }

  #tag(field: number, wireType: number): void {
    this.#varint(field * 8 + wireType);
  }

  #varint(value: number): void {
    // Seven bits a byte, low bits first; a negative int64 is its two's
    // complement, which BigInt gives exactly beyond 2^53.
    let v = value < 0 ? BigInt.asUintN(64, BigInt(value)) : BigInt(value);
    while (v >= 0x80n) {
      this.#byte(Number(v & 0x7fn) | 0x80);
      v >>= 7n;
    }
    this.#byte(Number(v));
  }

  #byte(b: number): void {
    this.#pending.push(b);
    this.#length++;
    if (this.#pending.length >= SMALL_BYTES) this.#flush();
  }

  #append(data: Uint8Array): void {
    if (data.length < SMALL_BYTES) {
      for (const b of data) this.#pending.push(b);
    } else {
      this.#flush();
      this.#parts.push(data);
    }
    this.#length += data.length;
    if (this.#pending.length >= SMALL_BYTES) this.#flush();
  }

  #flush(): void {
    if (this.#pending.length === 0) return;
    this.#parts.push(Uint8Array.from(this.#pending));
    this.#pending = [];
  }
}

/** Values as little-endian float32 bytes, whatever the platform's order. */
function floatBytes(values: ArrayLike<number>): Uint8Array {
  const out = new Uint8Array(values.length * 4);
  const view = new DataView(out.buffer);
  for (let i = 0; i < values.length; i++) {
    view.setFloat32(i * 4, values[i], true);
  }
  return out;
}
