#!/usr/bin/env bash
# Install what Vivavoce needs on Debian or Ubuntu: system packages, then a
# virtual environment in .venv/ at the project root with the project in it.
#   bash packaging/setup.sh          # to run the app
#   bash packaging/setup.sh --test   # also what the tests need
set -euo pipefail
cd "$(dirname "$0")/.."

# Audio capture (PortAudio reaches PulseAudio/PipeWire through ALSA's `pulse` device); what Qt's
# X11/XWayland platform plugin loads (without libxcb-icccm4 and -keysyms1 Qt blames xcb-cursor);
# the certificate authorities that `vivavoce models download` checks the Hub's against;
# then the synthesisers and texts that `vivavoce train synth` makes training speech from (the
# tests use them too).
debian_packages=(python3-venv ca-certificates pulseaudio pulseaudio-utils libportaudio2 libasound2-plugins
                 libegl1 libxkbcommon-x11-0 libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1
                 espeak-ng flite festival festvox-kallpc16k festvox-kdlpc16k festvox-us-slt-hts
                 wordnet-base fortunes bible-kjv-text)
sudo=""
[[ $(id -u) -eq 0 ]] || sudo="sudo"
extras=""
optional_packages=()
if [[ "${1:-}" == "--test" ]]; then
    extras="[test]"
    debian_packages+=(desktop-file-utils)  # the packaged app's menu entry is checked with its validator
    # Two more synthesisers, SVOX Pico and RHVoice, are in Debian's non-free component (free
    # licences, but Pico's voice data and RHVoice's come without their sources). Their tests
    # need them, so --test adds that component on Debian, in a file of its own, when no source
    # list names it yet.
    optional_packages=(libttspico-utils rhvoice rhvoice-english)
    if . /etc/os-release && [[ ${ID:-} == debian ]] &&
       ! grep -Eqs "non-free( |$)" /etc/apt/sources.list /etc/apt/sources.list.d/*; then
        printf 'Types: deb\nURIs: http://deb.debian.org/debian\nSuites: %s\nComponents: non-free\nSigned-By: %s\n' \
            "$VERSION_CODENAME" /usr/share/keyrings/debian-archive-keyring.gpg |
            $sudo tee /etc/apt/sources.list.d/vivavoce-non-free.sources >/dev/null
    fi
fi

missing=()
for package in "${debian_packages[@]}" "${optional_packages[@]}"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
if (( ${#missing[@]} )); then
    $sudo apt-get -o Acquire::Retries=5 update -qq
    # Optional packages the configured archives lack (Ubuntu without multiverse) are left out.
    available=()
    for package in "${missing[@]}"; do
        if [[ " ${optional_packages[*]} " == *" $package "* ]] &&
           [[ $(apt-cache policy "$package" 2>/dev/null) != *"Candidate: "[0-9]* ]]; then
            echo "setup.sh: $package is not in your package archives; its synthesiser's tests will be skipped" >&2
        else
            available+=("$package")
        fi
    done
    missing=("${available[@]}")
    DEBIAN_FRONTEND=noninteractive $sudo apt-get -o Acquire::Retries=5 install -y -qq "${missing[@]}"
fi

# A dropped connection in the middle of torch's 3 GB of CUDA wheels should not sink the install:
# pip resumes a broken download, and the whole step is tried three times.
pip_install() {
    local attempt
    for attempt in 1 2 3; do
        .venv/bin/python -m pip install -q --retries 10 --timeout 60 "$@" && return 0
        echo "setup.sh: pip install failed (attempt $attempt of 3); trying again" >&2
        sleep $((attempt * 15))
    done
    echo "setup.sh: could not install $* (see pip's message above)" >&2
    return 1
}

[[ -x .venv/bin/python ]] || python3 -m venv .venv
pip_install --upgrade pip
# torch first, alone: its CUDA wheels are large and the rest is quick.
pip_install --resume-retries 20 "torch==2.9.1" "torchaudio==2.9.*"
pip_install --resume-retries 20 -e ".${extras}"
