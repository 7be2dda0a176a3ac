// Run-time CPU feature detection for kernel dispatch.
#pragma once

namespace lookahead {

// True when the CPU (and OS) support AVX2, FMA and F16C (x86-64-v3 kernels).
bool cpu_has_avx2();
// True when the CPU also supports AVX-512 F/BW/DQ/VL and AVX512_VNNI (the
// 16-lane kernel family).
bool cpu_has_avx512();

// Kernel families. A family fixes the reduction order of every kernel (how
// many float lanes a dot product accumulates in, and in which order), so all
// calls in one process must use one family: then a token's result never
// depends on k, its batch position or the thread count.
//   Lanes8:  AVX2 kernels and their 8-lane scalar twins.
//   Lanes16: AVX-512 kernels (F32/F16/BF16/Q8_0/Q4_0/Q4_K/Q6_K) and their
//            16-lane scalar twins; attention is shared with Lanes8, and so
//            is F32/F16/BF16 with a P16F copy (one in-order sum per row, no
//            lanes; ops/matmul.h).
// The families give (slightly) different floats for the same input.
enum class KernelFamily { Lanes8, Lanes16 };

// Kernel selection for tests and benchmarks:
//   Auto:   the best family the CPU has (Lanes16 with AVX-512, else Lanes8),
//           SIMD where present.
//   Scalar: the scalar twins of the family Auto would use (bit-identical
//           results to Auto).
//   Avx2:   the Lanes8 family with AVX2 even on AVX-512 CPUs.
//   Avx2Scalar: the Lanes8 scalar twins.
// Not thread-safe to change while a forward pass runs.
enum class KernelMode { Auto, Scalar, Avx2, Avx2Scalar };
void set_kernel_mode(KernelMode m);
KernelMode kernel_mode();
KernelFamily kernel_family();  // family of the current mode
bool use_avx2();               // AVX2 kernels enabled (SIMD mode and cpu_has_avx2())
bool use_avx512();             // Lanes16 family with its AVX-512 kernels

}  // namespace lookahead
