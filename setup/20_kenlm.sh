#!/usr/bin/env bash
# KenLM's estimation tools (lmplz, build_binary), built once from the kenlm PyPI source distribution into
# $ZIYA2LAB_CACHE/kenlm/bin (idempotent). There is no Debian kenlm package; the sdist carries the full lm/builder.
# The Python module (`pip install kenlm`, a ziya2lab dependency) only queries models; without these tools the
# factory falls back to its pure-Python ARPA writer (ziya2lab/data/kenlm_model.py).
set -euo pipefail
KENLM_VERSION=0.3.0
target="${ZIYA2LAB_CACHE:-$HOME/.cache/ziya2lab}/kenlm"
if [ -x "$target/bin/lmplz" ] && [ -x "$target/bin/build_binary" ] && [ -f "$target/.complete-$KENLM_VERSION" ]; then
  echo "kenlm tools ready in $target/bin"
  exit 0
fi
boost_packages="libboost-program-options-dev libboost-system-dev libboost-thread-dev libboost-test-dev
  zlib1g-dev libbz2-dev liblzma-dev cmake g++ make"
missing=$(for package in $boost_packages; do dpkg -s "$package" >/dev/null 2>&1 || echo "$package"; done)
if [ -n "$missing" ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "kenlm build needs: apt-get install -y --no-install-recommends $missing (run as root)" >&2
    exit 1
  fi
  apt-get update -qq
  # shellcheck disable=SC2086
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
python -m pip download --quiet --no-deps --no-binary kenlm "kenlm==$KENLM_VERSION" -d "$work"
tar xzf "$work"/kenlm-*.tar.gz -C "$work"
source_dir=$(find "$work" -maxdepth 1 -type d -name 'kenlm-*' | head -1)
mkdir -p "$source_dir/build"
if ! (cd "$source_dir/build" && cmake .. -DCMAKE_BUILD_TYPE=Release && make -j"$(nproc)" lmplz build_binary query) \
    >"$work/build.log" 2>&1; then
  tail -30 "$work/build.log" >&2
  echo "kenlm build failed; the factory falls back to its Python ARPA writer" >&2
  exit 1
fi
mkdir -p "$target/bin"
for tool in lmplz build_binary query; do  # copy then rename: a running lmplz keeps its old inode, no "text file busy"
  cp "$source_dir/build/bin/$tool" "$target/bin/.$tool.new" && mv -f "$target/bin/.$tool.new" "$target/bin/$tool"
done
touch "$target/.complete-$KENLM_VERSION"
echo "kenlm tools built into $target/bin"
