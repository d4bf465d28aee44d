#!/usr/bin/env bash
# Build Heron's Linux bundle: a PyInstaller one-folder app, packed as a tarball with install.sh.
#   bash packaging/build_bundle.sh [OUT]   # default OUT: /tmp/heron-bundle; never inside the checkout
# Builds from .venv (the CPU bundle here; a CUDA bundle where .venv's torch is a CUDA build, see
# packaging/README.md). Writes OUT/heron/ (the app) and OUT/heron-VERSION-linux-ARCH-KIND.tar.gz,
# and prints their sizes and the build time. Needs `pip install pyinstaller==6.22.3` in .venv
# (the test extras have it).
set -euo pipefail
cd "$(dirname "$0")/.."
OUT="${1:-/tmp/heron-bundle}"
PY=.venv/bin/python
say() { printf 'build_bundle: %s\n' "$*" >&2; }

case "$(realpath -m "$OUT")/" in "$PWD"/*) say "OUT must be outside the checkout"; exit 2 ;; esac
"$PY" -c "import PyInstaller" 2>/dev/null || { say "PyInstaller is missing: .venv/bin/pip install pyinstaller==6.22.3"; exit 2; }
start=$(date +%s)
mkdir -p "$OUT"
"$PY" packaging/third_party.py --bundle --out "$OUT/THIRD-PARTY.md" >/dev/null
"$PY" -m PyInstaller --noconfirm --log-level ERROR \
  --distpath "$OUT" --workpath "$OUT/work" packaging/heron.spec
cp packaging/bundle/install.sh packaging/bundle/uninstall.sh packaging/bundle/README.txt LICENSE "$OUT/heron/"
mv "$OUT/THIRD-PARTY.md" "$OUT/heron/"

VERSION=$("$PY" -c "import engine; print(engine.__version__)")
KIND=$("$PY" -c "import torch; print('cuda' + torch.version.cuda.replace('.', '') if torch.version.cuda else 'cpu')")
TARBALL="$OUT/heron-$VERSION-linux-$(uname -m)-$KIND.tar.gz"
tar -C "$OUT" -cf - heron | gzip -1 > "$TARBALL"   # -1: nearly as small as -6 here (torch's code is dense), much faster
rm -rf "$OUT/work"
say "built in $(( $(date +%s) - start )) s"
say "unpacked: $(du -sh "$OUT/heron" | cut -f1)  $OUT/heron"
say "packed:   $(du -sh "$TARBALL" | cut -f1)  $TARBALL"
