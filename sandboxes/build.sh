#!/usr/bin/env sh
# Builds every sample tool to sandboxes/<tool>/build/<tool>.wasm (build outputs are not committed).
# Needs Debian's clang, lld, wasi-libc and libclang-rt-dev-wasm32.
set -eu
cd "$(dirname "$0")"
for src in */*.c; do
  tool=$(dirname "$src")
  mkdir -p "$tool/build"
  clang --target=wasm32-wasi -O2 -o "$tool/build/$tool.wasm" "$src"
  echo "built $tool/build/$tool.wasm"
done
