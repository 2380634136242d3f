#!/usr/bin/env bash
# English technical prose for the data factory's embedded corpus: the reStructuredText sources of the Python 3.11
# documentation (Debian package python3.11-doc), fetched once into $ZIYA2LAB_CACHE/corpora/python-docs
# (idempotent: complete when its .complete marker exists). The .deb is downloaded and unpacked into the cache,
# nothing is installed, so no root is needed once apt has package lists (`apt-get update` is tried if not).
set -euo pipefail
cache="${ZIYA2LAB_CACHE:-$HOME/.cache/ziya2lab}/corpora"
target="$cache/python-docs"
if [ -f "$target/.complete" ]; then
  echo "python docs ready in $target"
  exit 0
fi
command -v apt-get >/dev/null 2>&1 || { echo "apt-get not found: cannot fetch python3.11-doc" >&2; exit 1; }
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
if ! (cd "$work" && apt-get download -qq python3.11-doc >/dev/null 2>&1); then
  apt-get update -qq >/dev/null 2>&1 || true
  (cd "$work" && apt-get download -qq python3.11-doc >/dev/null 2>&1) ||
    { echo "could not download the Debian package python3.11-doc (run apt-get update)" >&2; exit 1; }
fi
dpkg-deb -x "$work"/python3.11-doc_*.deb "$work/deb"
sources="$work/deb/usr/share/doc/python3.11/html/_sources"
[ -d "$sources" ] || { echo "python3.11-doc has no html/_sources" >&2; exit 1; }
mkdir -p "$cache"
staging="$(mktemp -d "$cache/.python-docs.XXXXXX")"
(cd "$sources" && find . -name '*.rst.txt' -print0 | xargs -0 cp --parents -t "$staging")
chmod 755 "$staging"
touch "$staging/.complete"
rm -rf "$target"
mv "$staging" "$target"
echo "python docs ready in $target"
