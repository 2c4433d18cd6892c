// softmax_policy.h: how rows map onto threads, apart from the kernel. Short rows (up to
// kWarpRowMaxCols) get one warp each, kRowsPerBlock rows per block, so a block is never mostly
// idle lanes; long rows get a whole block (kBlockRowThreads) each, which keeps enough loads in
// flight per row to approach memory bandwidth on attention-score rows of 4K-32K columns.
#pragma once

namespace zt {

constexpr int kWarpRowMaxCols = 1024;
constexpr int kRowsPerBlock = 4;
constexpr int kBlockRowThreads = 256;

}  // namespace zt
