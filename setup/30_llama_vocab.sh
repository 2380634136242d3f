#!/usr/bin/env bash
# Fetch the real LLaMA/LLaMA-2 SentencePiece vocabulary (32,000 pieces) and llama.cpp's reference encodings.
#
# They ship inside the llama-cpp-python source distribution (vendor/llama.cpp/models/ggml-vocab-llama-spm.gguf
# plus .inp/.out test vectors produced from meta-llama/Llama-2-7b-hf). Only the sdist is downloaded (nothing is
# built), the three files are extracted into $ZIYA2LAB_CACHE/tokenizers/llama-spm/ and the sdist is discarded.
# Idempotent: does nothing when the files are already there. Override the version with LLAMA_CPP_PYTHON_VERSION.
set -euo pipefail

VERSION="${LLAMA_CPP_PYTHON_VERSION:-0.3.36}"
CACHE_ROOT="${ZIYA2LAB_CACHE:-$HOME/.cache/ziya2lab}"
DEST="$CACHE_ROOT/tokenizers/llama-spm"
FILES=(ggml-vocab-llama-spm.gguf ggml-vocab-llama-spm.gguf.inp ggml-vocab-llama-spm.gguf.out)

present=1
for name in "${FILES[@]}"; do
  [ -s "$DEST/$name" ] || present=0
done
if [ "$present" = 1 ]; then
  echo "30_llama_vocab: LLaMA-2 vocabulary already in $DEST"
  exit 0
fi

PIP="${PIP:-pip}"
command -v "$PIP" >/dev/null 2>&1 || PIP="python3 -m pip"

WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

echo "30_llama_vocab: downloading the llama-cpp-python==$VERSION source distribution (~77 MB, nothing is built)"
if ! $PIP download --quiet --no-deps --no-binary :all: --dest "$WORK" "llama-cpp-python==$VERSION"; then
  echo "30_llama_vocab: ERROR: could not download llama-cpp-python==$VERSION from PyPI." >&2
  echo "  The LLaMA-2 vocabulary is taken from that source distribution; this step needs PyPI access once." >&2
  echo "  Offline? Copy ggml-vocab-llama-spm.gguf{,.inp,.out} from vendor/llama.cpp/models/ of any" >&2
  echo "  llama-cpp-python sdist into $DEST and re-run this script." >&2
  exit 1
fi

SDIST="$(find "$WORK" -maxdepth 1 -name 'llama_cpp_python-*.tar.gz' | head -n 1)"
if [ -z "$SDIST" ]; then
  echo "30_llama_vocab: ERROR: pip did not leave a llama_cpp_python-*.tar.gz in $WORK" >&2
  exit 1
fi

tar -xzf "$SDIST" -C "$WORK" --wildcards '*/vendor/llama.cpp/models/ggml-vocab-llama-spm.gguf*'
STAGING="$(mktemp -d "$CACHE_ROOT/.llama-spm.XXXXXX" 2>/dev/null || { mkdir -p "$CACHE_ROOT"; mktemp -d "$CACHE_ROOT/.llama-spm.XXXXXX"; })"
for name in "${FILES[@]}"; do
  found="$(find "$WORK" -path "*/vendor/llama.cpp/models/$name" | head -n 1)"
  if [ -z "$found" ]; then
    rm -rf "$STAGING"
    echo "30_llama_vocab: ERROR: $name is missing from $(basename "$SDIST")" >&2
    exit 1
  fi
  cp "$found" "$STAGING/$name"
done
chmod 755 "$STAGING"
mkdir -p "$(dirname "$DEST")"
rm -rf "$DEST"
mv "$STAGING" "$DEST"
echo "30_llama_vocab: wrote ${FILES[*]} to $DEST"
