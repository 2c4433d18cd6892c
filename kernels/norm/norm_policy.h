// norm_policy.h: launch shape of the row-norm kernels, apart from the kernels. Four rows (four
// warps) per 128-thread block: enough warps per SM to hide memory latency on 1536-wide rows
// without making a block wait on its slowest row for long.
#pragma once

namespace zt {

constexpr int kRowsPerBlock = 4;

}  // namespace zt
