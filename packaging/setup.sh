#!/usr/bin/env bash
# Install what Vivavoce needs on Debian or Ubuntu: system packages, then a
# virtual environment in .venv/ at the project root with the project in it.
#   bash packaging/setup.sh          # to run the app
#   bash packaging/setup.sh --test   # also what the tests need
set -euo pipefail
cd "$(dirname "$0")/.."

# Audio capture (PortAudio reaches PulseAudio/PipeWire through ALSA's `pulse` device); what Qt's
# X11/XWayland platform plugin loads (without libxcb-icccm4 and -keysyms1 Qt blames xcb-cursor);
# then the synthesisers and texts that `vivavoce train synth` makes training speech from (the
# tests use them too).
debian_packages=(python3-venv pulseaudio pulseaudio-utils libportaudio2 libasound2-plugins
                 libegl1 libxkbcommon-x11-0 libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1
                 espeak-ng flite festival festvox-kallpc16k festvox-kdlpc16k festvox-us-slt-hts
                 wordnet-base fortunes bible-kjv-text)
extras=""
if [[ "${1:-}" == "--test" ]]; then
    extras="[test]"
fi

missing=()
for package in "${debian_packages[@]}"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
if (( ${#missing[@]} )); then
    sudo=""
    [[ $(id -u) -eq 0 ]] || sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}"
fi

[[ -x .venv/bin/python ]] || python3 -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
# torch first, alone: its CUDA wheels are large and the rest is quick.
.venv/bin/python -m pip install -q "torch==2.9.1" "torchaudio==2.9.*"
.venv/bin/python -m pip install -q -e ".${extras}"
