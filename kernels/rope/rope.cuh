// rope.cuh: Wan 3D RoPE on the device (the CUDA twin of src/Attention/Rope/RopeDevice.cs).
// Pair j of a head turns by the angle of its axis's coordinate: j < time_pairs uses the frame
// index (+ offset), the next height_pairs the row, the rest the column. (cos, sin) come from
// the f32 table [positions, pairs, 2], built in double on the host from Wan's frequencies.
#pragma once

#include "common/zt_common.cuh"

namespace zt {

struct Rope {
    const float* table;
    int pairs;
    int time_pairs;
    int height_pairs;
    int height;
    int width;
    int frame_offset;

    // A token's (frame + offset, row, column): the positions its pairs turn by, found once per
    // row of a kernel (32-bit: frames * height * width is a token count, an int32).
    struct Pos {
        int t, y, x;
    };
    __device__ __forceinline__ Pos pos_of(int token) const {
        const int hw = height * width;
        const int t = token / hw;
        const int rem = token - t * hw;
        const int y = rem / width;
        return Pos{t + frame_offset, y, rem - y * width};
    }

    // Pair j of a token at p, rotated in place (one 8-byte table read).
    __device__ __forceinline__ void rotate(const Pos& p, int j, float& x0, float& x1) const {
        const int pos = j < time_pairs ? p.t : j < time_pairs + height_pairs ? p.y : p.x;
        float2 cs = reinterpret_cast<const float2*>(table)[pos * pairs + j];
        float r0 = x0 * cs.x - x1 * cs.y;
        float r1 = x0 * cs.y + x1 * cs.x;
        x0 = r0;
        x1 = r1;
    }

    __device__ __forceinline__ void rotate(int64_t token, int j, float& x0, float& x1) const {
        int64_t hw = (int64_t)height * width;
        int64_t pos = j < time_pairs ? token / hw + frame_offset
                    : j < time_pairs + height_pairs ? (token / width) % height
                    : token % width;
        float2 cs = reinterpret_cast<const float2*>(table)[pos * pairs + j];
        float r0 = x0 * cs.x - x1 * cs.y;
        float r1 = x0 * cs.y + x1 * cs.x;
        x0 = r0;
        x1 = r1;
    }
};

// Shared argument checks of the RoPE entry points; returns the validated Rope or a status.
inline zt_status make_rope(const char* name, int32_t head_dim, int32_t frames, int32_t height, int32_t width, int32_t frame_offset,
                           int32_t time_dims, int32_t height_dims, int32_t positions, int32_t pairs, int64_t tokens, const void* table, Rope* out) {
    int32_t width_dims = head_dim - time_dims - height_dims;
    if (head_dim <= 0 || head_dim % 2 || time_dims <= 0 || height_dims <= 0 || width_dims <= 0 || time_dims % 2 || height_dims % 2 ||
        pairs * 2 != head_dim || frames <= 0 || height <= 0 || width <= 0 || frame_offset < 0 ||
        (int64_t)frames * height * width != tokens || frame_offset + frames > positions || height > positions || width > positions || !table) {
        return fail(ZT_ERROR_INVALID_ARGUMENT, name);
    }
    *out = Rope{static_cast<const float*>(table), pairs, time_dims / 2, height_dims / 2, height, width, frame_offset};
    return ZT_OK;
}

}  // namespace zt
