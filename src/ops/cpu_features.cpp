#include "ops/cpu_features.h"

namespace lookahead {
namespace {
KernelMode g_mode = KernelMode::Auto;
}

bool cpu_has_avx2() {
#if defined(__x86_64__) || defined(__i386__)
  static const bool has = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") &&
                          __builtin_cpu_supports("f16c");
  return has;
#else
  return false;
#endif
}

bool cpu_has_avx512() {
#if defined(__x86_64__) || defined(__i386__)
  static const bool has = cpu_has_avx2() && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
                          __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl") &&
                          __builtin_cpu_supports("avx512vnni");
  return has;
#else
  return false;
#endif
}

void set_kernel_mode(KernelMode m) { g_mode = m; }
KernelMode kernel_mode() { return g_mode; }

KernelFamily kernel_family() {
  if (g_mode == KernelMode::Avx2 || g_mode == KernelMode::Avx2Scalar) return KernelFamily::Lanes8;
  return cpu_has_avx512() ? KernelFamily::Lanes16 : KernelFamily::Lanes8;
}

bool use_avx2() { return (g_mode == KernelMode::Auto || g_mode == KernelMode::Avx2) && cpu_has_avx2(); }
bool use_avx512() { return g_mode == KernelMode::Auto && cpu_has_avx512(); }

}  // namespace lookahead
