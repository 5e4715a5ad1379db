import { outputSize } from "./geometry";
import { gemm } from "./matmul";
import { setUnfolded } from "./unfold";

/**
 * `matmul_im2col`: `c = a · U`, or with `transCols` `c = a · Uᵀ`, where U is
 * the `[D, P]` matrix `im2col` would write for this geometry (`D = channels ·
 * kernelH · kernelW`, `P = batch · outH · outW`), with each channel's taps
 * reversed when `flip`; with `accumulate` the product is added to `c`. U is
 * never written: asm/unfold.ts copies its panels from the image as
 * asm/matmul.ts's product needs them, which then sums as `matmul` does.
 *
 * @param a Byte offset of float32 `[m, D]` (`[m, P]` with `transCols`),
 *   4-byte aligned.
 * @param x Byte offset of the NCHW float32 image, 4-byte aligned.
 * @param c Byte offset of float32 `[m, P]` (`[m, D]` with `transCols`),
 *   4-byte aligned; must not overlap `a` or `x`.
 * @param m Rows of `a` and `c`.
 * @param batch Images (as in `im2col`, every size an integer below 2^53).
 * @param channels Channels per image.
 * @param height Rows per image.
 * @param width Columns per image.
 * @param kernelH Window rows (>= 1).
 * @param kernelW Window columns (>= 1).
 * @param stride Step between windows (>= 1).
 * @param padding Zero cells around the image on every side.
 * @param transCols Nonzero for `a · Uᵀ`.
 * @param flip Nonzero to reverse each channel's taps.
 * @param accumulate Nonzero to add the product to `c`.
 */
export function matmul_im2col(
  a: usize,
  x: usize,
  c: usize,
  m: u32,
  batch: f64,
  channels: f64,
  height: f64,
  width: f64,
  kernelH: f64,
  kernelW: f64,
  stride: f64,
  padding: f64,
  transCols: u32,
  flip: u32,
  accumulate: u32,
): void {
  const outH = outputSize(height, kernelH, stride, padding);
  const outW = outputSize(width, kernelW, stride, padding);
  const depth = channels * kernelH * kernelW;
  const positions = batch * outH * outW;
  // With m > 0, a and c lie in the memory, so both sides are below 2^30.
  const n = transCols ? depth : positions;
  const k = transCols ? positions : depth;
  if (m == 0 || n == 0) return;
  if (k == 0) {
    if (!accumulate) memory.fill(c, 0, ((m as usize) * (n as usize)) << 2);
    return;
  }
  setUnfolded(
    x,
    batch,
    channels,
    height,
    width,
    kernelH,
    kernelW,
    stride,
    padding,
    outH,
    outW,
    flip != 0,
  );
  gemm(a, 0, c, m, n as u32, k as u32, 0, transCols, accumulate, true);
}
