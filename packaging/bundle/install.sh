#!/usr/bin/env bash
# Install Heron from this unpacked bundle for the current user, or remove it (uninstall.sh).
#   bash install.sh                 # into ~/.local/lib/heron, with ~/.local/bin/heron and the menu entry
#   bash install.sh --prefix DIR    # into DIR/lib/heron and DIR/bin/heron instead
# Nothing here needs root or the network. Heron's data (models, history, settings) lives in
# ~/.local/share/Heron and ~/.config/Heron, which uninstall.sh leaves in place.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
PREFIX="$HOME/.local"
[ "${1:-}" = "--prefix" ] && PREFIX="${2:?--prefix needs a folder}"
APP="$PREFIX/lib/heron"
say() { printf 'heron install: %s\n' "$*" >&2; }

[ -x "$HERE/heron" ] || { say "run this from the unpacked Heron bundle (no heron executable in $HERE)"; exit 2; }
if [ "$HERE" != "$APP" ]; then
  mkdir -p "$PREFIX/lib"
  rm -rf "$APP.new" && cp -a "$HERE" "$APP.new"   # copy first: a failed copy leaves the old install whole
  rm -rf "$APP" && mv "$APP.new" "$APP"
fi
mkdir -p "$PREFIX/bin" && ln -sfn "$APP/heron" "$PREFIX/bin/heron"
"$APP/heron" --install-desktop || say "could not add Heron to the application menu (it still runs as $PREFIX/bin/heron)"
say "installed in $APP; start it from the application menu or with: $PREFIX/bin/heron"
case ":$PATH:" in *":$PREFIX/bin:"*) ;; *) say "note: $PREFIX/bin is not on your PATH" ;; esac
