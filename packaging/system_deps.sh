#!/usr/bin/env bash
# The system tools Maestro uses, installed before anything else by `make run` / `make test`:
#   espeak-ng (speech for the TTS voice and test audio), apertium + apertium-eng-spa (EN<->ES
#   translation), xvfb + xauth (screenshots), libxcb-cursor0 / -icccm4 / -keysyms1 (Qt's X11 plugin,
#   the ones a minimal Debian lacks), g++ (llama.cpp build).
# Debian/Ubuntu: installed with apt-get as root or through sudo. Elsewhere, or without either,
# this stops with one line naming the packages and the command.
set -euo pipefail

declare -A PROBE=(
  [espeak-ng]="command -v espeak-ng"
  [apertium]="command -v apertium"
  [apertium-eng-spa]="apertium_pair"
  [xvfb]="command -v Xvfb"
  [xauth]="command -v xauth"
  [libxcb-cursor0]="has_lib libxcb-cursor.so.0"
  [libxcb-icccm4]="has_lib libxcb-icccm.so.4"
  [libxcb-keysyms1]="has_lib libxcb-keysyms.so.1"
  [g++]="command -v g++"
)
ORDER=(espeak-ng apertium apertium-eng-spa xvfb xauth libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1 g++)

apertium_pair() { [ -n "$(ls /usr/share/apertium/modes/en-es.mode /usr/share/apertium/modes/eng-spa.mode 2>/dev/null)" ]; }
has_lib() { ldconfig -p 2>/dev/null | grep -qF "$1" || compgen -G "/usr/lib/*/$1" >/dev/null || [ -e "/usr/lib/$1" ]; }

missing=()
for p in "${ORDER[@]}"; do
  eval "${PROBE[$p]}" >/dev/null 2>&1 || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if command -v apt-get >/dev/null 2>&1; then
  if [ "$(id -u)" -eq 0 ]; then SUDO=""; elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then SUDO="sudo"; else
    echo "Maestro needs these system packages: ${missing[*]}. Install them with: sudo apt-get install -y ${missing[*]}" >&2
    exit 1
  fi
  echo "Installing system packages: ${missing[*]}" >&2
  if ! { $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"; } >/tmp/maestro-apt.log 2>&1; then
    echo "Could not install ${missing[*]} with apt-get (see /tmp/maestro-apt.log). Install them with: sudo apt-get install -y ${missing[*]}" >&2
    exit 1
  fi
  exit 0
fi
echo "Maestro needs these system tools: ${missing[*]} (Debian/Ubuntu names). Install them with your package manager, then run make again." >&2
exit 1
