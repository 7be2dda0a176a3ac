// Run-time CPU feature detection for kernel dispatch.
#pragma once

namespace lookahead {

// True when the CPU (and OS) support AVX2, FMA and F16C (x86-64-v3 kernels).
bool cpu_has_avx2();

// Kernel selection for tests and benchmarks: Auto uses AVX2 when present,
// Scalar forces the scalar twins everywhere. Not thread-safe to change while
// a forward pass runs.
enum class KernelMode { Auto, Scalar };
void set_kernel_mode(KernelMode m);
bool use_avx2();  // cpu_has_avx2() && mode == Auto

}  // namespace lookahead
