#!/usr/bin/env bash
# The desktop app as one folder, built with PyInstaller from this checkout's .venv (made by
# packaging/setup.sh): DIST/vivavoce/vivavoce is the app and the `vivavoce` command, and
# DIST/vivavoce-VERSION-linux-x86_64.tar.gz the download.
#   bash packaging/build.sh [--dist DIR] [--work DIR] [--no-archive]
# DIST is dist/ at the project root unless --dist names another folder. The folder also holds
# install-desktop.sh, which adds Vivavoce to the desktop's application menu.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
dist=$root/dist
work=$root/build
archive=1
while (( $# )); do
    case $1 in
        --dist) dist=$(realpath -m "$2"); shift 2 ;;
        --work) work=$(realpath -m "$2"); shift 2 ;;
        --no-archive) archive=0; shift ;;
        *) echo "build.sh: unknown option $1 (see the comment at the top of packaging/build.sh)" >&2; exit 2 ;;
    esac
done
python=$root/.venv/bin/python
[[ -x $python ]] || { echo "build.sh: no $root/.venv; run bash packaging/setup.sh first" >&2; exit 2; }
"$python" -c "import PyInstaller" 2>/dev/null || "$python" -m pip install -q "pyinstaller>=6.10,<7"

"$python" -m PyInstaller --noconfirm --log-level WARN --distpath "$dist" --workpath "$work" \
    "$root/packaging/vivavoce.spec"
app=$dist/vivavoce
# The menu entry, its icon and its installer at the folder's top, beside the executable.
install -m 644 "$root/packaging/linux/vivavoce.desktop" "$root/assets/vivavoce.svg" "$app/"
install -m 755 "$root/packaging/linux/install-desktop.sh" "$app/"
"$app/vivavoce" --version >/dev/null  # the frozen app starts (a missing module fails here, not on a user's machine)
echo "build.sh: $app ($(du -sh "$app" | cut -f1))"

if (( archive )); then
    version=$("$app/vivavoce" --version | cut -d' ' -f2)
    tarball=$dist/vivavoce-$version-linux-$(uname -m).tar.gz
    # pigz compresses on every core when it is installed; the archive is the same format either way.
    compressor=gzip
    command -v pigz >/dev/null && compressor=pigz
    tar -C "$dist" -cf - vivavoce | $compressor > "$tarball.part"
    mv "$tarball.part" "$tarball"
    echo "build.sh: $tarball ($(du -sh "$tarball" | cut -f1))"
fi
