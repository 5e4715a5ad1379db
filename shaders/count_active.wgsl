// count_active: counts[r] = #{ c : x[r * cols + c] > 0 }; NaN is not > 0.
//
// Bindings (group 0):
//   0  uniform               params  Params { rows, cols, n = rows * cols }, 16
//                                    bytes
//   1  storage, read         x       array<vec4f>, n elements then padding (the
//                                    host rounds buffers up to 16 bytes)
//   2  storage, read_write   counts  array<atomic<u32>>, rows elements, zeroed by
//                                    the host (clearBuffer) before the dispatch
// Workgroup size: WORKGROUP_SIZE invocations (pipeline override), each reading
//   RUN elements (override, a multiple of 4) as vec4s, so one workgroup covers
//   SPAN = WORKGROUP_SIZE * RUN consecutive elements.
// Dispatch: ceil(n / SPAN) workgroups folded into a 2-D grid of rows of 256
//   (the host's GRID_WIDTH); the linear workgroup index is
//   wid.y * num_workgroups.x + wid.x and the workgroups past the end return.
//   Not dispatched when n is 0.

struct Params {
  rows: u32,
  cols: u32,
  n: u32,
  _pad: u32,
}

override WORKGROUP_SIZE: u32;
override RUN: u32;

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> x: array<vec4f>;
@group(0) @binding(2) var<storage, read_write> counts: array<atomic<u32>>;

var<workgroup> workgroup_count: atomic<u32>;

// Which of x[i .. i + 3] (i a multiple of 4) are > 0, tested on the bits
// since WGSL implementations may assume no NaN: positive, nonzero and not NaN
// is [1, 0x7f800000] (+Inf counts as active).
fn active4(i: u32) -> vec4<bool> {
  return bitcast<vec4u>(x[i / 4u]) - vec4u(1u) < vec4u(0x7f800000u);
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn main(
  @builtin(workgroup_id) wid: vec3u,
  @builtin(num_workgroups) groups: vec3u,
  @builtin(local_invocation_index) lid: u32,
) {
  let span = WORKGROUP_SIZE * RUN;
  // A binding holds at most 4 GiB, so n <= 2^30 and none of this overflows.
  let start = (wid.y * groups.x + wid.x) * span;
  if (start >= params.n) {
    return;
  }
  let end = min(start + span, params.n);
  let first_row = start / params.cols;

  if (first_row == (end - 1u) / params.cols) {
    // The whole workgroup lies in one row (a workgroup-uniform test): read
    // coalesced, add up in workgroup memory, then one global atomic.
    var c = 0u;
    for (var i = start + 4u * lid; i < end; i += 4u * WORKGROUP_SIZE) {
      let inside = vec4u(i) + vec4u(0u, 1u, 2u, 3u) < vec4u(end);
      let ones = select(vec4u(0u), vec4u(1u), active4(i) & inside);
      c += ones.x + ones.y + ones.z + ones.w;
    }
    if (c > 0u) {
      atomicAdd(&workgroup_count, c);
    }
    workgroupBarrier();
    if (lid == 0u) {
      let total = atomicLoad(&workgroup_count);
      if (total > 0u) {
        atomicAdd(&counts[first_row], total);
      }
    }
    return;
  }

  // Rows change inside the workgroup: each invocation walks its own RUN
  // consecutive elements and flushes its count whenever a row ends.
  let first = start + lid * RUN;
  let stop = min(first + RUN, end);
  var row = first / params.cols;
  var row_end = (row + 1u) * params.cols;
  var c = 0u;
  for (var i = first; i < stop; i += 4u) {
    let is_active = active4(i);
    for (var k = 0u; k < 4u && i + k < stop; k++) {
      if (i + k == row_end) {
        if (c > 0u) {
          atomicAdd(&counts[row], c);
        }
        c = 0u;
        row += 1u;
        row_end += params.cols;
      }
      c += u32(is_active[k]);
    }
  }
  if (c > 0u) {
    atomicAdd(&counts[row], c);
  }
}
