#!/usr/bin/env bash
# Install Heron into ./.venv, then start it (--start) or run the test suite (--test).
#   bash packaging/install.sh --start   # install and start the desktop app
#   bash packaging/install.sh --test    # install with the test extras and run every test
set -euo pipefail
cd "$(dirname "$0")/.."

MODE="${1:---start}"
TORCH_PIN="torch==2.13.0"  # install first and keep: a looser pin can pull a multi-GB build you did not ask for
APP_PACKAGES=(python3-venv libportaudio2 libxcb-icccm4 libxcb-keysyms1 libxcb-cursor0 libxkbcommon-x11-0
  libegl1 libgl1 libfontconfig1 libdbus-1-3)
TEST_PACKAGES=(espeak-ng sox xvfb xauth pulseaudio pulseaudio-utils libasound2-plugins)

say() { printf '\033[1mheron install:\033[0m %s\n' "$*" >&2; }

missing_packages() {
  local pkg
  for pkg in "$@"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || echo "$pkg"
  done
}

install_system_packages() {
  command -v apt-get >/dev/null || { say "not a Debian/Ubuntu system: install the equivalents of: $*"; return; }
  local missing
  missing=$(missing_packages "$@")
  [ -z "$missing" ] && return
  local sudo=""
  if [ "$(id -u)" -ne 0 ]; then
    if sudo -n true 2>/dev/null; then sudo="sudo"; else
      say "please install these system packages, then run this again:"
      say "  sudo apt-get install -y $(echo $missing)"
      exit 2
    fi
  fi
  say "installing system packages: $(echo $missing)"
  $sudo apt-get update -qq
  # shellcheck disable=SC2086
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq $missing >/dev/null
}

check_python() {
  command -v python3 >/dev/null || { say "python3 not found: install Python 3.11 or newer"; exit 2; }
  python3 -c 'import sys; sys.exit(sys.version_info < (3, 11))' || {
    say "Heron needs Python 3.11 or newer (found $(python3 --version))"; exit 2; }
}

install_python_packages() {
  local extras="$1"
  [ -x .venv/bin/python ] || python3 -m venv .venv
  .venv/bin/python -m pip install -q --upgrade pip 2>&1 | grep -v "^WARNING: Location" || true
  .venv/bin/python -m pip install -q "$TORCH_PIN" 2>&1 | grep -v "^WARNING: Location" || true
  .venv/bin/python -m pip install -q -e ".${extras}" "$TORCH_PIN" 2>&1 | grep -v "^WARNING: Location" || true
  .venv/bin/python -c "import torch, transformers, PySide6, av" || { say "Python packages failed to install"; exit 2; }
}

install_desktop_entry() {  # a launcher in the desktop's application menu, opening audio files too
  .venv/bin/heron --install-desktop || say "could not add Heron to the application menu"
}

case "$MODE" in
  --start)
    check_python
    install_system_packages "${APP_PACKAGES[@]}"
    install_python_packages ""
    install_desktop_entry
    say "installed; starting Heron (next time: .venv/bin/heron)"
    exec .venv/bin/heron
    ;;
  --test)
    check_python
    install_system_packages "${APP_PACKAGES[@]}" "${TEST_PACKAGES[@]}"
    install_python_packages "[test]"
    bash packaging/sound-server.sh  # virtual microphone and speaker for the voice tests
    # Two workers; the tests that share the virtual sound devices run on one of them (tests/conftest.py).
    exec .venv/bin/python -m pytest -n "${HERON_TEST_WORKERS:-2}" --dist loadgroup "${@:2}"
    ;;
  *)
    say "usage: bash packaging/install.sh [--start | --test [pytest options]]"; exit 2 ;;
esac
