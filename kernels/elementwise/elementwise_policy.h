// elementwise_policy.h: launch shape of the memory-bound elementwise kernels, kept apart from
// the kernels. 256 threads per block; enough blocks to cover the work once, capped at a few
// waves of a large GPU (132 SMs x 8 resident blocks of 256 threads x 4): the grid-stride loop
// covers the rest, so huge tensors do not launch millions of short-lived blocks.
#pragma once

#include <stdint.h>

namespace zt {

constexpr int kElementwiseThreads = 256;
constexpr int kElementwiseMaxBlocks = 132 * 8 * 4;

inline int elementwise_blocks(int64_t work_items) {
    int64_t blocks = (work_items + kElementwiseThreads - 1) / kElementwiseThreads;
    if (blocks < 1) {
        blocks = 1;
    }
    return blocks > kElementwiseMaxBlocks ? kElementwiseMaxBlocks : (int)blocks;
}

}  // namespace zt
