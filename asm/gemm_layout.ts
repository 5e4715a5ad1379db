// The blocking of the matrix products (asm/matmul.ts) and their layout in the
// scratch area (asm/memory.ts), shared with the packing of im2col's matrix
// (asm/unfold.ts).

/** Rows of `c` per micro-tile. */
export const MR: u32 = 4;
/** Columns of `c` per micro-tile: two f32x4. */
export const NR: u32 = 8;
/** Most steps of `k` per block: a copied panel of `op(b)` is 8 KiB, in L1. */
export const KC: u32 = 256;
/** Floats of copied `op(a)`: 256 KiB, in L2 while panels of `op(b)` pass. */
export const A_FLOATS: u32 = 65536;
/** Most taps (`kernelH · kernelW`) whose masks asm/unfold.ts tabulates. */
export const MAX_TAPS: u32 = 64;

/** Byte offsets in the scratch area: the copied blocks of `op(a)`, `op(b)`. */
export const A_AT: usize = 0;
export const B_AT: usize = A_AT + ((A_FLOATS as usize) << 2);
/** A micro-tile of `c` at the edges. */
export const TILE_AT: usize = B_AT + ((KC * NR) << 2);
/** asm/unfold.ts: per tap, the shift of its source (i32). */
export const SHIFT_AT: usize = TILE_AT + ((MR * NR) << 2);
/** asm/unfold.ts: per tap, the lanes inside the image (i32 masks). */
export const MASK_AT: usize = SHIFT_AT + ((MAX_TAPS as usize) << 2);
/** asm/unfold.ts: for its masks, each lane's output row and column. */
export const LANES_AT: usize = MASK_AT + ((MAX_TAPS * KC) << 2);
/** asm/unfold.ts: per column of a panel, its source offset and its masks. */
export const PANEL_AT: usize = LANES_AT + ((2 * KC) << 2);
/** The end of the products' scratch. */
export const SCRATCH_END: usize = PANEL_AT + ((2 * NR) << 2);
