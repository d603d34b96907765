// The recurrent ops of gated delta net layers on the GPU (backend.h has their spec; the CPU's ops_conv / ops_gate /
// ops_delta_rule are the references): the causal conv1d with state (conv.cu), the gated delta rule, recurrent form
// (delta_rule.cu) and chunked form (delta_rule_chunked.cu), and the per-row gates around them (gate.cu). Launchers take device pointers, strides in floats and
// a stream. Which tokens form which sequence, its state slot and its snapshots come as a device array of RecurrentRun
// (packed on the host by CudaBackend, cuda_backend_recurrent.cpp), so nothing that changes per step is a launch
// argument but the sequence count.
#pragma once

#include <cuda_runtime_api.h>

#include <cstdint>

namespace hotrod::cuda {

// One batch sequence: tokens [first_token, first_token + n_tokens) of the batch, state row `slot`; fresh (1): its
// first position is 0, so its state starts at zero and the slot is not read. Its snapshots are
// snaps[snap_first .. snap_first + snap_count), in order. Plain int32 fields: packed into the step's index buffer.
struct RecurrentRun {
    int32_t first_token;
    int32_t n_tokens;
    int32_t slot;
    int32_t fresh;
    int32_t snap_first;
    int32_t snap_count;
};
constexpr int kRecurrentRunInts = 6;

// Copy the state to row `row` once the sequence's first n_done tokens of the batch have run (1 <= n_done <=
// n_tokens: backend::StateSnapshot's position minus the sequence's first position).
struct RecurrentSnap {
    int32_t n_done;
    int32_t row;
};
constexpr int kRecurrentSnapInts = 2;

struct DeviceRecurrentLayout {
    const RecurrentRun* runs = nullptr;    // n_seqs
    const RecurrentSnap* snaps = nullptr;  // the runs' snap ranges index it
    int n_seqs = 0;
};

// Causal depthwise conv1d over each sequence's tokens (Backend::conv1d_causal): x, out [tokens x n_channels] (out
// == x allowed), w [n_channels x kernel] packed, state rows of (kernel - 1) * n_channels, oldest input first.
// kernel 2 .. kConvMaxKernel.
constexpr int kConvMaxKernel = 8;
void conv1d_causal(const float* x, int64_t x_stride, const float* w, int kernel, float* state, int64_t state_stride,
                   int64_t n_channels, bool silu, float* out, int64_t out_stride, const DeviceRecurrentLayout& layout,
                   cudaStream_t stream);

// The gated delta rule's tensors (Backend::gated_delta_rule): strides in floats; state rows of n_v_heads blocks of
// head_dim x head_dim, row j of a block holding S[.][j].
struct DeltaRuleArgs {
    const float* q = nullptr;
    int64_t q_stride = 0;
    const float* k = nullptr;
    int64_t k_stride = 0;
    const float* v = nullptr;
    int64_t v_stride = 0;
    const float* g = nullptr;
    int64_t g_stride = 0;
    const float* beta = nullptr;
    int64_t beta_stride = 0;
    float* state = nullptr;
    int64_t state_stride = 0;
    float* out = nullptr;
    int64_t out_stride = 0;
    int n_k_heads = 0;
    int n_v_heads = 0;
    int head_dim = 0;
    float scale = 1.0f;
    bool l2_norm = false;
    float l2_eps = 0.0f;
    // Which kernel takes which run (takes_chunked below), decided per run from its own length and kind: runs of at
    // least chunked_min_tokens tokens, and every run starting at or after token chunked_from_token (a step's prompt
    // runs under batch invariance: a prompt's short tail after a prefix-cache hit then cuts the same 64-token chunks
    // as its cold run), take the chunked form (delta_rule_chunked.cu), the rest the recurrent form;
    // chunked_min_tokens 0: every run recurrent. The launch_* flags (host side, from the packed runs) say whether
    // any run of the call is each kernel's; they are launch choices, so a step graph's record holds them.
    int chunked_min_tokens = 0;
    int chunked_from_token = INT32_MAX;
    bool launch_recurrent = true;
    bool launch_chunked = false;
};

#ifdef __CUDACC__
#define HOTROD_HOST_DEVICE __host__ __device__
#else
#define HOTROD_HOST_DEVICE
#endif
inline HOTROD_HOST_DEVICE bool takes_chunked(const DeltaRuleArgs& a, int32_t first_token, int32_t n_tokens) {
    return a.chunked_min_tokens > 0 && (n_tokens >= a.chunked_min_tokens || first_token >= a.chunked_from_token);
}
#undef HOTROD_HOST_DEVICE
// head_dim: a multiple of 32 up to kDeltaMaxHeadDim.
constexpr int kDeltaMaxHeadDim = 256;
bool delta_rule_supports(int head_dim);
// Launches the recurrent kernel (delta_rule.cu) and the chunked one as a.launch_* ask.
void gated_delta_rule(const DeltaRuleArgs& a, const DeviceRecurrentLayout& layout, cudaStream_t stream);

// The chunked form (delta_rule_chunked.cu) for head_dim 64 and 128: the runs of at least a.chunked_min_tokens (>= 1)
// tokens. DeltaRuleForm::Auto's threshold, where the two meet: measured on an H100 (Qwen3.5-4B's 16 / 32 heads of 128,
// one sequence), the token loop takes 0.8-0.9 us a token, a chunk here ~29 us however full (16 tokens: 15 us
// against 29; 32: 28 against 29; 64: 54 against 30; 512: 412 against 212).
constexpr int kDeltaChunkedMinTokens = 32;
// Its chunks: 64 tokens from a run's first (the last one shorter), not at positions that are multiples of 64 as the
// CPU's: Backend::recurrent_align asks prompts to be cut there instead.
constexpr int kDeltaChunkTokens = 64;
bool delta_rule_chunked_supports(int head_dim);
void gated_delta_rule_chunked(const DeltaRuleArgs& a, const DeviceRecurrentLayout& layout, cudaStream_t stream);

// g = a_neg * softplus(alpha + dt_bias), beta = sigmoid(b_logit) over [n_rows x n_heads]; outputs may alias inputs.
void delta_gates(const float* alpha, int64_t alpha_stride, const float* b_logit, int64_t b_stride, const float* a_neg,
                 const float* dt_bias, int64_t n_rows, int64_t n_heads, float* g, int64_t g_stride, float* beta,
                 int64_t beta_stride, cudaStream_t stream);
// out = rms_norm(x) * w * silu(z) per head_dim slice of each row (w: head_dim floats); out may alias x or z.
void rms_norm_gated(const float* x, int64_t x_stride, const float* w, const float* z, int64_t z_stride, int head_dim,
                    float eps, int64_t n_rows, int64_t n_cols, float* out, int64_t out_stride, cudaStream_t stream);
// x[r][h*head_dim + i] *= sigmoid(gate[r][h*gate_head_stride + i]) over rows of n_cols = n_heads * head_dim.
void sigmoid_gate(float* x, int64_t x_stride, const float* gate, int64_t gate_stride, int head_dim,
                  int gate_head_stride, int64_t n_rows, int64_t n_cols, cudaStream_t stream);

}  // namespace hotrod::cuda
