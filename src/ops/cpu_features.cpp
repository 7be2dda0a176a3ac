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

void set_kernel_mode(KernelMode m) { g_mode = m; }
bool use_avx2() { return g_mode == KernelMode::Auto && cpu_has_avx2(); }

}  // namespace lookahead
