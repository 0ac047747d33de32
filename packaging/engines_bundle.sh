#!/usr/bin/env bash
# A relocatable bundle of the speech engines and text that `vivavoce train synth` uses, made from
# this machine's Debian packages, for a training machine (a GPU host, say) that has neither them
# nor a package archive to install them from:
#
#   bash packaging/engines_bundle.sh engines.tar.xz     # here (after packaging/setup.sh)
#   tar -xJf engines.tar.xz -C /opt                      # there: /opt/bundle
#   cp -rn /opt/bundle/text/usr/. /usr/                  # WordNet, fortunes, the Bible text
#   export PATH=/opt/bundle/bin:$PATH                    # espeak-ng, flite, festival
#
# bin/ holds the programs behind small wrappers that point them at the bundle's libraries and
# data; lib/ every library they load except the C and C++ runtimes, which the host has. About
# 37 MB compressed. packaging/gpu_host.sh uses it.
set -euo pipefail
out=$(realpath -m "${1:?usage: engines_bundle.sh OUT.tar.xz}")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
b=$work/bundle
mkdir -p "$b/bin" "$b/lib" "$b/share/espeak-ng-data" "$b/text/usr/share/games" "$b/text/usr/lib"

for program in espeak-ng flite festival; do
    path=$(command -v "$program") || { echo "$program is not installed (packaging/setup.sh installs it)" >&2; exit 2; }
    cp "$(readlink -f "$path")" "$b/bin/$program.real"
    ldd "$path" | awk '/=>/ {print $3}'
done | sort -u | grep -vE '/(libc|libm|libstdc\+\+|libgcc_s|ld-linux[^/]*|libpthread|libdl|librt)\.so' |
    while read -r library; do cp -L "$library" "$b/lib/"; done

# espeak-ng's English data only; festival's whole library folder (its voices and lexicons).
data=/usr/lib/x86_64-linux-gnu/espeak-ng-data
cp -r "$data"/{phondata,phonindex,phontab,intonations,en_dict,lang,voices} "$b/share/espeak-ng-data/"
cp -r /usr/share/festival "$b/share/festival"
cp -r /usr/share/wordnet "$b/text/usr/share/"
cp -r /usr/share/games/fortunes "$b/text/usr/share/games/"
cp /usr/lib/bible.data "$b/text/usr/lib/"

wrapper() {  # wrapper NAME ENVIRONMENT ARGUMENTS
    printf '#!/bin/sh\nB=$(dirname "$(dirname "$(readlink -f "$0")")")\n%s LD_LIBRARY_PATH=$B/lib exec "$B/bin/%s.real" %s"$@"\n' \
        "$2" "$1" "$3" > "$b/bin/$1"
    chmod 755 "$b/bin/$1"
}
wrapper espeak-ng 'ESPEAK_DATA_PATH=$B/share' ''
wrapper flite '' ''
wrapper festival '' '--libdir "$B/share/festival" --datadir "$B/share/festival" '

tar -cJf "$out.part" -C "$work" bundle && mv "$out.part" "$out"
echo "$out: $(du -h "$out" | cut -f1)"
