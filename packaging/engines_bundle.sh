#!/usr/bin/env bash
# A relocatable bundle of the speech engines and text that `vivavoce train synth` uses, made from
# this machine's Debian packages, for a training machine (a GPU host, say) that has neither them
# nor a package archive to install them from:
#
#   bash packaging/engines_bundle.sh engines.tar.xz [ENGINES]   # here (after packaging/setup.sh)
#   tar -xJf engines.tar.xz -C /opt                              # there: /opt/bundle
#   cp -rn /opt/bundle/root/. /                                  # data the programs find by fixed path
#   export PATH=/opt/bundle/bin:$PATH
#
# ENGINES: espeak,flite,festival (the default) and, from Debian non-free, pico and rhvoice (its
# voices alan, bdl, clb and slt). bin/ holds the programs behind small wrappers that point them
# at the bundle's libraries (and espeak-ng and festival at their data); lib/ every library they
# load except the C and C++ runtimes, which the host has; root/ the sentence sources (WordNet,
# fortunes, the Bible text) and Pico's and RHVoice's data, at the paths they are read from.
# The default makes 34 MB; pico and rhvoice add 23 MB. packaging/gpu_host.sh uses it.
set -euo pipefail
out=$(realpath -m "${1:?usage: engines_bundle.sh OUT.tar.xz [ENGINES]}")
IFS=, read -r -a engines <<< "${2:-espeak,flite,festival}"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
b=$work/bundle
r=$b/root
mkdir -p "$b/bin" "$b/lib" "$r/usr/share/games" "$r/usr/lib"

programs=()
for engine in "${engines[@]}"; do
    case $engine in
        espeak) programs+=(espeak-ng) ;;
        flite | festival) programs+=("$engine") ;;
        pico) programs+=(pico2wave) ;;
        rhvoice) programs+=(RHVoice-test) ;;
        *) echo "unknown engine $engine; choose from espeak, flite, festival, pico, rhvoice" >&2; exit 2 ;;
    esac
done
for program in "${programs[@]}"; do
    path=$(command -v "$program") || { echo "$program is not installed (packaging/setup.sh installs it)" >&2; exit 2; }
    cp "$(readlink -f "$path")" "$b/bin/$program.real"
    ldd "$path" | awk '/=>/ {print $3}'
done | sort -u | grep -vE '/(libc|libm|libstdc\+\+|libgcc_s|ld-linux[^/]*|libpthread|libdl|librt)\.so' |
    while read -r library; do cp -L "$library" "$b/lib/"; done

wrapper() {  # wrapper PROGRAM [ENVIRONMENT [ARGUMENTS]]
    printf '#!/bin/sh\nB=$(dirname "$(dirname "$(readlink -f "$0")")")\n%s LD_LIBRARY_PATH=$B/lib exec "$B/bin/%s.real" %s"$@"\n' \
        "${2:-}" "$1" "${3:-}" > "$b/bin/$1"
    chmod 755 "$b/bin/$1"
}
for engine in "${engines[@]}"; do
    case $engine in
        espeak)  # its English data only
            mkdir -p "$b/share/espeak-ng-data"
            data=/usr/lib/x86_64-linux-gnu/espeak-ng-data
            cp -r "$data"/{phondata,phonindex,phontab,intonations,en_dict,lang,voices} "$b/share/espeak-ng-data/"
            wrapper espeak-ng 'ESPEAK_DATA_PATH=$B/share' ;;
        flite) wrapper flite ;;
        festival)  # its whole library folder: voices and lexicons
            cp -r /usr/share/festival "$b/share/festival"
            wrapper festival '' '--libdir "$B/share/festival" --datadir "$B/share/festival" ' ;;
        pico)
            mkdir -p "$r/usr/share/pico/lang"
            cp /usr/share/pico/lang/en-* "$r/usr/share/pico/lang/"
            wrapper pico2wave ;;
        rhvoice)  # never evgeniy-eng or lyubov (non-commercial licences)
            mkdir -p "$r/usr/share/RHVoice/voices" "$r/etc"
            cp -r /usr/share/RHVoice/languages "$r/usr/share/RHVoice/"
            for voice in alan bdl clb slt; do cp -r "/usr/share/RHVoice/voices/$voice" "$r/usr/share/RHVoice/voices/"; done
            cp -r /etc/RHVoice "$r/etc/"
            wrapper RHVoice-test ;;
    esac
done

mkdir -p "$r/usr/share/wordnet"
cp /usr/share/wordnet/data.* "$r/usr/share/wordnet/"
cp -r /usr/share/games/fortunes "$r/usr/share/games/"
cp /usr/lib/bible.data "$r/usr/lib/"

tar -cJf "$out.part" -C "$work" bundle && mv "$out.part" "$out"
echo "$out: $(du -h "$out" | cut -f1)"
