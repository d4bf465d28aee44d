#!/usr/bin/env bash
# Recipe: Heron as an AppImage, from the one-folder bundle that build_bundle.sh made.
#   bash packaging/appimage.sh /tmp/heron-bundle/heron [OUT.AppImage]
# Lays out the AppDir (AppRun, heron.desktop, the icon, the app under usr/lib/heron), then packs
# it with appimagetool when that is on PATH. appimagetool and the AppImage runtime it prepends
# come only from GitHub releases, which this project's machines cannot reach: here the script
# stops after the AppDir and says so; on a machine that has appimagetool it makes the AppImage.
set -euo pipefail
BUNDLE="${1:?usage: appimage.sh BUNDLE_FOLDER [OUT.AppImage]}"
OUT="${2:-$(dirname "$BUNDLE")/Heron-$(uname -m).AppImage}"
APPDIR="$(dirname "$BUNDLE")/Heron.AppDir"
say() { printf 'appimage: %s\n' "$*" >&2; }

[ -x "$BUNDLE/heron" ] || { say "no heron executable in $BUNDLE: run packaging/build_bundle.sh first"; exit 2; }
rm -rf "$APPDIR" && mkdir -p "$APPDIR/usr/lib"
cp -a "$BUNDLE" "$APPDIR/usr/lib/heron"
ASSETS="$APPDIR/usr/lib/heron/_internal/assets"
sed -e 's|@EXEC@|heron|' -e 's|@ICON@|heron|' "$ASSETS/heron.desktop" > "$APPDIR/heron.desktop"
cp "$ASSETS/heron.svg" "$APPDIR/heron.svg"
cat > "$APPDIR/AppRun" <<'RUN'
#!/bin/sh
# The AppImage's entry: Heron's own executable inside the image.
exec "$(dirname "$(readlink -f "$0")")/usr/lib/heron/heron" "$@"
RUN
chmod +x "$APPDIR/AppRun"
if command -v appimagetool >/dev/null; then
  ARCH="$(uname -m)" appimagetool --no-appstream "$APPDIR" "$OUT"
  say "built $OUT ($(du -sh "$OUT" | cut -f1))"
else
  say "AppDir ready in $APPDIR; appimagetool is not installed here, so no AppImage was packed"
  say "on a machine with appimagetool: ARCH=$(uname -m) appimagetool --no-appstream $APPDIR $OUT"
fi
