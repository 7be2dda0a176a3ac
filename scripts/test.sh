#!/usr/bin/env bash
# Fresh machine -> every test: installs packages, builds the release tree and
# runs the whole suite with ctest, then builds an AddressSanitizer + UBSan
# tree and runs the malformed-input suites (GGUF, tokenizer fuzzing) in it.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
jobs=$(nproc)

scripts/build.sh
(cd build && ctest --output-on-failure -j "$jobs")

# The server driven by the official `openai` npm package (node --test).
tests/server/run.sh

# Sanitizer build: only the test binary, only the suites that feed the
# library malformed or random input (GGUF files, tokenizer bytes, templates),
# the sampler/verifier unit tests, and the SIMD kernels (every vector load of
# the matmul, packing, attention and SwiGLU kernels on odd shapes).
cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DLOOKAHEAD_SANITIZE=ON \
  -DLOOKAHEAD_BUILD_BENCH=OFF -DLOOKAHEAD_BUILD_SERVER=OFF \
  "-DLOOKAHEAD_TEST_FILES=test_gguf.cpp;test_tokenizer.cpp;test_tokenizer_unicode.cpp;test_jinja.cpp;test_chat_template.cpp;test_sampler.cpp;test_sampling_verify.cpp;test_kernels.cpp;test_kernels_attention.cpp;test_kernels_swiglu.cpp" \
  >/dev/null
ninja -C build-asan lookahead_tests
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  build-asan/tests/lookahead_tests --gtest_filter='GGUF*:*Tokenizer*:*Jinja*:*ChatTemplate*:Sampler*:Verify*:Kernel*' --gtest_brief=1
echo "sanitizer suites passed"
