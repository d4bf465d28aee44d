#!/usr/bin/env bash
# Remove what install.sh added: the menu entry and icons, the heron link and the installed folder.
#   bash uninstall.sh [--prefix DIR]   # the same prefix install.sh was given (default ~/.local)
# Heron's data (models, history, settings, logs) stays; the last line says where, to delete it too.
set -euo pipefail
PREFIX="$HOME/.local"
[ "${1:-}" = "--prefix" ] && PREFIX="${2:?--prefix needs a folder}"
APP="$PREFIX/lib/heron"
say() { printf 'heron uninstall: %s\n' "$*" >&2; }

if [ -x "$APP/heron" ]; then "$APP/heron" --uninstall-desktop || say "could not remove the menu entry"; fi
[ "$(readlink "$PREFIX/bin/heron" 2>/dev/null)" = "$APP/heron" ] && rm -f "$PREFIX/bin/heron"
rm -rf "$APP"
say "removed Heron from $APP"
say "your models, history and settings remain in ${XDG_DATA_HOME:-$HOME/.local/share}/Heron and ${XDG_CONFIG_HOME:-$HOME/.config}/Heron"
