#!/usr/bin/env python3
"""The best an H100 could do with each CUDA kernel of kernels/cuda — analysis, never a measurement.

For one representative call of each kernel on the shapes the studies train (ResNet-50 on
3×32×32 at batch 32, vit-small p4 d192 L6 at batch 64), this counts the compulsory bytes (every
input read once, every output written once, float32) and the FLOPs of the call, and bounds its
time from below by the roofline of an H100 SXM: max(bytes / 3.35 TB/s, FLOPs / 60 TFLOP/s FP32
non-tensor, the figure the issue gives; NVIDIA quotes ~67 for the SXM part, so 60 is
slightly conservative). A kernel's real time is at least this; how far
above it sits is what a GPU measurement (scripts/gpu_check.sh) would show.

Usage: scripts/kernel_roofline.py  → a Markdown table on stdout (docs/KERNELS.md embeds it)."""

BW = 3.35e12  # bytes/s, HBM3
FP32 = 60e12  # FLOP/s, FP32 without tensor cores (no TF32: Lethe's own kernels are FP32 FMA)
F = 4  # bytes per float

# (kernel, file, call, bytes, flops)
rows = []


def add(kernel, file, call, nbytes, flops):
    rows.append((kernel, file, call, nbytes, flops))


# vit-small: 64 images × (64 patches + cls) = 4160 tokens of width 192, 3 heads of 64.
T, D, B, H, N = 65, 192, 64, 3, 64 * 65
add("sgemm_tiled", "gemm.cu", f"qkv projection [{N}×{D}]·[{D}×{3*D}]",
    F * (N * D + D * 3 * D + N * 3 * D), 2 * N * D * 3 * D)
add("sgemm_tiled", "gemm.cu", f"MLP fc1 [{N}×{D}]·[{D}×{4*D}]",
    F * (N * D + D * 4 * D + N * 4 * D), 2 * N * D * 4 * D)
# ResNet-50 bottleneck 3×3 conv of layer2 on a 32×32 input: 128→128 at 16×16 (stride-1 stem).
n, c, o, hw = 32, 128, 128, 16 * 16
cols = c * 9 * hw * n
add("im2col_kernel", "conv.cu", f"x[{n},{c},16,16] 3×3 → columns", F * (n * c * hw + cols), 0)
add("sgemm_tiled", "gemm.cu", f"conv 3×3 {c}→{o} as GEMM [{o}×{c*9}]·[{c*9}×{n*hw}]",
    F * (o * c * 9 + cols + o * n * hw), 2 * o * c * 9 * n * hw)
add("col2im_kernel", "conv.cu", "columns → dx (backward-data)", F * (cols + n * c * hw), cols)
add("bias_grad_kernel", "conv.cu", f"dy[{n},{o},16,16] → db", F * (n * o * hw + o), n * o * hw)
e = n * 256 * hw  # a bottleneck's 256-channel activation at 16×16
add("bn_partial_stats + finalize", "batchnorm.cu", f"x[{n},256,16,16] statistics",
    F * e, 4 * e)
add("bn_affine_planes", "batchnorm.cu", "normalize + affine", F * 2 * e, 2 * e)
add("bn_partial_grad", "batchnorm.cu", "Σdy, Σdy·(x−μ), Σ(x−μ)", F * 2 * e, 5 * e)
add("ln_forward", "layernorm.cu", f"[{N},{D}]", F * 2 * N * D, 8 * N * D)
add("ln_backward_dx + params", "layernorm.cu", f"[{N},{D}]", F * 4 * N * D, 10 * N * D)
S = B * H * T * T
add("softmax_fwd (block)", "softmax.cu", f"attention probs [{B*H*T},{T}]", F * 2 * S, 5 * S)
add("softmax_bwd", "softmax.cu", f"[{B*H*T},{T}]", F * 3 * S, 4 * S)
add("ce_fwd / ce_bwd", "softmax.cu", "logits [64,10]", F * (2 * 640) + 8 * 64, 8 * 640)
add("attention_fwd_kernel<64>", "attention.cu", f"B·H={B*H}, T={T}, d=64",
    F * 4 * B * H * T * 64, 4 * B * H * T * T * 64)
add("unary_fwd_kernel<Relu>", "elementwise.cu", f"[{n},256,16,16]", F * 2 * e, e)
add("unary_fwd_kernel<Gelu>", "elementwise.cu", f"MLP hidden [{N},{4*D}]",
    F * 2 * N * 4 * D, 20 * N * 4 * D)
add("binary_same_kernel<Add>", "elementwise.cu", f"residual [{n},256,16,16]", F * 3 * e, e)
add("reduce_rows/cols_kernel", "elementwise.cu", f"bias grad of fc1 [{N},{4*D}] → [{4*D}]",
    F * (N * 4 * D + 4 * D), N * 4 * D)
add("copy_transpose_kernel", "elementwise.cu", f"head split [{N},{3*D}] → [3,{B},{H},{T},64]",
    F * 2 * N * 3 * D, 0)
add("maxpool_fwd", "pool.cu", "3×3/2 on [32,64,32,32] (ImageNet-style stem)",
    F * (32 * 64 * 32 * 32 + 32 * 64 * 16 * 16) + 8 * 32 * 64 * 16 * 16, 9 * 32 * 64 * 16 * 16)
add("adaptive_fwd", "pool.cu", "global average [32,2048,4,4] → [32,2048]",
    F * (32 * 2048 * 16 + 32 * 2048), 32 * 2048 * 16)
add("dropout_fwd_kernel", "dropout.cu", f"[{N},{4*D}], mask bytes", (2 * F + 1) * N * 4 * D,
    30 * N * 4 * D)
P = 25_557_032  # ResNet-50 parameters (torchvision)
add("sgd_momentum_kernel", "optim.cu", f"ResNet-50, {P/1e6:.1f} M parameters", F * 5 * P, 4 * P)
add("adam_kernel", "optim.cu", f"ResNet-50, {P/1e6:.1f} M parameters", F * 7 * P, 14 * P)
add("row_metrics_kernel", "metrics.cu", "[10000,10] logits", F * (10000 * 10 + 3 * 10000),
    30 * 10000 * 10)


def us(x):
    return f"{x * 1e6:.2f}"


print("| kernel | file | call | MB moved | GFLOP | FLOP/byte | bound µs (memory / compute) | limited by |")
print("|---|---|---|---|---|---|---|---|")
for kernel, file, call, nbytes, flops in rows:
    tm, tc = nbytes / BW, flops / FP32
    ai = flops / nbytes if nbytes else 0
    print(f"| `{kernel}` | {file} | {call} | {nbytes / 1e6:.2f} | {flops / 1e9:.3f} | {ai:.2f} | "
          f"{us(tm)} / {us(tc)} | {'memory' if tm >= tc else 'compute'} |")
