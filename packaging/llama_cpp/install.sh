#!/usr/bin/env bash
# Install llama-cpp-python built for *any* CPU of this architecture, not for the build machine:
# GGML_NATIVE=OFF, one CPU backend per feature level (GGML_BACKEND_DL + GGML_CPU_ALL_VARIANTS),
# chosen and health-checked at run time by core/llm/backend.py. The wheel is built once per
# version + flags and kept in ~/.cache/maestro/wheels (pip's own cache ignores CMAKE_ARGS, so a
# wheel built elsewhere with -march=native could otherwise come back).
#   usage: install.sh PYTHON VERSION        extra CMake flags (GPU): MAESTRO_LLAMA_CMAKE_ARGS="-DGGML_CUDA=on"
set -euo pipefail
PY="$1"; VERSION="$2"
HERE="$(cd "$(dirname "$0")" && pwd)"
FLAGS="-DGGML_NATIVE=OFF -DGGML_BACKEND_DL=ON -DGGML_CPU_ALL_VARIANTS=ON -DLLAVA_BUILD=OFF \
-DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_TOOLS=OFF -DLLAMA_BUILD_SERVER=OFF \
${MAESTRO_LLAMA_CMAKE_ARGS:-}"
ARGS="$FLAGS -DCMAKE_PROJECT_INCLUDE=$HERE/install_cpu_variants.cmake"
# The key is what the build depends on (version, flags, the include file's text), not where the
# checkout lives, so every clone on this machine shares one build.
KEY="$(printf '%s\n%s\n' "$VERSION" "$FLAGS" | cat - "$HERE/install_cpu_variants.cmake" | sha256sum | cut -c1-16)"
WHEELS="${XDG_CACHE_HOME:-$HOME/.cache}/maestro/wheels/llama-cpp-python-$VERSION-$KEY"

installed_ok() {  # the right version, with the CPU variants next to libllama
  "$PY" - "$VERSION" <<'PYEOF'
import importlib.metadata, importlib.util, pathlib, sys
try:
    assert importlib.metadata.version("llama_cpp_python") == sys.argv[1]
    spec = importlib.util.find_spec("llama_cpp")
    lib = pathlib.Path(next(iter(spec.submodule_search_locations))) / "lib"
    assert any(lib.glob("libggml-cpu-*.so")) or any(lib.glob("ggml-cpu-*.dll"))
except Exception:
    sys.exit(1)
PYEOF
}
if installed_ok; then exit 0; fi
if ! ls "$WHEELS"/llama_cpp_python-*.whl >/dev/null 2>&1; then
  echo "Building llama-cpp-python $VERSION for every CPU level (once per machine: about 8 min on 2 idle cores)…" >&2
  mkdir -p "$WHEELS.tmp"
  CMAKE_ARGS="$ARGS" CMAKE_BUILD_PARALLEL_LEVEL="${CMAKE_BUILD_PARALLEL_LEVEL:-$(nproc 2>/dev/null || echo 2)}" \
    "$PY" -m pip wheel -q --no-deps --no-cache-dir --no-binary llama-cpp-python \
    "llama-cpp-python==$VERSION" -w "$WHEELS.tmp"
  rm -rf "$WHEELS" && mv "$WHEELS.tmp" "$WHEELS"
fi
"$PY" -m pip install -q --no-deps --force-reinstall "$WHEELS"/llama_cpp_python-*.whl
installed_ok || { echo "llama-cpp-python $VERSION was installed without its CPU variants" >&2; exit 1; }
