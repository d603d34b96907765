// Attention::run: checks the shapes, then gives each token to one of two kernels: the flash-decoding kernel
// (attention_decode.cu) for decode tokens, the tiled kernel (attention_prefill.cu) for the rest. Which tokens decode
// is the plan's: the step's generated tokens (decode_tokens, batch-invariant), or by the old rule the tokens of a
// sequence with at most attn::kDecodeMaxSeqTokens query tokens in the batch. Both kernels decide on the device with
// the same test (attn::takes_decode), so a mixed batch needs no host-side list; each launch skips the other's
// tokens at the cost of a few empty blocks. Groups above attn::kDecodeMaxGroup send every token to the tiled kernel.
#include <algorithm>
#include <stdexcept>
#include <string>

#include "cuda/attention.h"
#include "cuda/attention_common.cuh"
#include "cuda/check.h"
#include "cuda/launch.cuh"
#include "quant/blocks.h"

namespace hotrod::cuda {

Attention::~Attention() {
    if (scratch_) cudaFree(scratch_);  // a destructor has nowhere to report a failure to
}

Attention::Plan Attention::plan(const DeviceKvCache& cache, const DeviceKvLayout& layout, const AttentionShape& shape,
                                int64_t decode_tokens) {
    const bool f16 = cache.type == quant::DType::F16;
    const int group = shape.n_kv_heads > 0 ? shape.n_heads / shape.n_kv_heads : 0;
    if ((!f16 && cache.type != quant::DType::Q8_0) || shape.n_kv_heads <= 0 || shape.n_heads % shape.n_kv_heads != 0 ||
        group < 1 || group > attn::kPrefillMaxGroup || shape.head_dim < 32 || shape.head_dim > 256 ||
        shape.head_dim % 32 != 0 || cache.n_kv_heads != shape.n_kv_heads || cache.head_dim != shape.head_dim ||
        shape.window < 0 || layout.block_size <= 0) {
        throw std::invalid_argument(
            "cuda::Attention::run: " + std::to_string(shape.n_heads) + " heads / " + std::to_string(shape.n_kv_heads) +
            " KV heads x head_dim " + std::to_string(shape.head_dim) + " over a " +
            std::string(quant::type_name(cache.type)) + " cache of " + std::to_string(cache.n_kv_heads) + " x " +
            std::to_string(cache.head_dim) + ", window " + std::to_string(shape.window) + ", block size " +
            std::to_string(layout.block_size) + " (needs F16 or Q8_0, head_dim a multiple of 32 up to 256, group <= " +
            std::to_string(attn::kPrefillMaxGroup) + ")");
    }
    // The decode kernel reads F16 K rows 16 bytes at a time.
    if (f16 && (reinterpret_cast<uintptr_t>(cache.k) % 16 != 0 || reinterpret_cast<uintptr_t>(cache.v) % 16 != 0))
        throw std::invalid_argument("cuda::Attention::run: an F16 cache must be 16-byte aligned");
    Plan p = shape_plan(cache, layout, shape, decode_tokens);
    const size_t bytes = scratch_floats(layout, shape, p.n_splits, p.prefill_splits) * sizeof(float);
    if (bytes == 0) return p;
    if (bytes > scratch_bytes_) {
        if (scratch_) {
            HOTROD_CUDA_CHECK(cudaDeviceSynchronize());  // kernels issued earlier may still read the old one
            HOTROD_CUDA_CHECK(cudaFree(scratch_));
        }
        scratch_ = nullptr;
        scratch_bytes_ = 0;
        HOTROD_CUDA_CHECK(cudaMalloc(&scratch_, bytes));
        scratch_bytes_ = bytes;
    }
    p.scratch = static_cast<float*>(scratch_);
    return p;
}

Attention::Plan Attention::shape_plan(const DeviceKvCache& cache, const DeviceKvLayout& layout,
                                      const AttentionShape& shape, int64_t decode_tokens) {
    Plan p;
    const int group = shape.n_kv_heads > 0 ? shape.n_heads / shape.n_kv_heads : 0;
    const bool decode_kernel = layout.n_tokens > 0 && group <= attn::kDecodeMaxGroup;
    if (decode_tokens < 0) {
        p.n_splits = decode_kernel ? attn::decode_splits(layout.n_tokens, shape.n_kv_heads, layout.max_kv_len,
                                                         sm_count())
                                   : 0;
        p.prefill_splits = attn::prefill_splits(layout.n_tokens, shape.n_heads, shape.n_kv_heads, shape.head_dim,
                                                cache.type, layout.max_kv_len, sm_count());
        return p;
    }
    p.decode_tokens = decode_kernel ? int(std::min<int64_t>(decode_tokens, layout.n_tokens)) : 0;
    p.split_cap = attn::decode_split_cap(shape.n_kv_heads, sm_count());
    // The launch's splits: the longest token's (token_splits grows with the length).
    p.n_splits = p.decode_tokens > 0 ? attn::token_splits(layout.max_kv_len, p.split_cap) : 0;
    if (p.decode_tokens < layout.n_tokens) {
        p.prefill_span = attn::prefill_split_span(shape.n_heads, shape.n_kv_heads, shape.head_dim, cache.type);
        if (p.prefill_span > 0) p.prefill_splits = std::max(1, (layout.max_kv_len + p.prefill_span - 1) / p.prefill_span);
    }
    return p;
}

size_t Attention::scratch_floats(const DeviceKvLayout& layout, const AttentionShape& shape, int decode_splits,
                                 int prefill_splits) {
    return attn::decode_scratch_floats(layout.n_tokens, shape, decode_splits) +
           attn::prefill_scratch_floats(layout.n_tokens, shape, prefill_splits);
}

bool Attention::scratch_fits(const DeviceKvCache& cache, const DeviceKvLayout& layout, const AttentionShape& shape,
                             int64_t decode_tokens) {
    const Plan p = shape_plan(cache, layout, shape, decode_tokens);
    return scratch_floats(layout, shape, p.n_splits, p.prefill_splits) * sizeof(float) <= scratch_bytes_;
}

bool Attention::quantizes_output(const Plan& plan, const AttentionShape& shape, std::span<const int32_t> token_seq) {
    if (plan.n_splits <= 0 || token_seq.empty() || shape.n_kv_heads <= 0) return false;
    if ((int64_t(shape.n_heads / shape.n_kv_heads) * shape.head_dim) % quant::QK_K != 0) return false;
    if (plan.decode_tokens >= 0) return size_t(plan.decode_tokens) == token_seq.size();
    size_t run = 0;
    for (size_t i = 0; i < token_seq.size(); ++i) {
        run = i > 0 && token_seq[i] == token_seq[i - 1] ? run + 1 : 1;
        if (run > size_t(attn::kDecodeMaxSeqTokens)) return false;
    }
    return true;
}

void Attention::launch(const Plan& plan, const float* q, int64_t q_stride, const DeviceKvCache& cache,
                       const DeviceKvLayout& layout, const AttentionShape& shape, float* out, int64_t out_stride,
                       cudaStream_t stream, void* act_q, size_t act_row_bytes) {
    if (layout.n_tokens <= 0) return;
    attn::AttentionArgs args{q, q_stride, static_cast<const uint8_t*>(cache.k), static_cast<const uint8_t*>(cache.v),
                             cache.type, layout, shape, out, out_stride,
                             plan.n_splits > 0 ? attn::kDecodeMaxSeqTokens : 0, prefetch_before_wait(), act_q,
                             act_row_bytes, plan.decode_tokens, plan.split_cap, plan.prefill_span};
    if (plan.n_splits > 0) attn::launch_attention_decode(args, plan.n_splits, plan.scratch, stream);
    // The tiled kernel only when some token is not the decode kernel's: by kinds, past decode_tokens; by the old
    // rule, a batch of at most kDecodeMaxSeqTokens tokens has no sequence longer than that, so all went to decode.
    if (plan.decode_tokens >= 0 ? plan.decode_tokens < layout.n_tokens : layout.n_tokens > args.decode_max_seq_tokens) {
        float* prefill_scratch =
            plan.scratch == nullptr ? nullptr
                                    : plan.scratch + attn::decode_scratch_floats(layout.n_tokens, shape, plan.n_splits);
        attn::launch_attention_prefill(args, plan.prefill_splits, prefill_scratch, stream);
    }
}

void Attention::run(const float* q, int64_t q_stride, const DeviceKvCache& cache, const DeviceKvLayout& layout,
                    const AttentionShape& shape, float* out, int64_t out_stride, cudaStream_t stream) {
    launch(plan(cache, layout, shape), q, q_stride, cache, layout, shape, out, out_stride, stream);
}

}  // namespace hotrod::cuda
