#!/bin/sh
# Adds Vivavoce to this user's application menu, pointing at the app in this folder (run it again
# after moving the folder); `sh install-desktop.sh --remove` takes it out again.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
share=${XDG_DATA_HOME:-$HOME/.local/share}
entry=$share/applications/vivavoce.desktop
icon=$share/icons/hicolor/scalable/apps/vivavoce.svg
case ${1:-} in
    --remove)
        rm -f "$entry" "$icon"
        echo "Vivavoce removed from the application menu"
        exit 0 ;;
    "") ;;
    *) echo "install-desktop.sh: unknown option $1 (give none, or --remove)" >&2; exit 2 ;;
esac
[ -x "$here/vivavoce" ] || { echo "install-desktop.sh: no Vivavoce app beside this script in $here" >&2; exit 2; }
mkdir -p "$(dirname "$entry")" "$(dirname "$icon")"
# The desktop entry specification: a quoted Exec argument escapes " ` $ and \ with a backslash,
# and the value as a whole doubles every backslash and every %.
exec_path=$(printf '%s' "$here/vivavoce" | sed -e 's/\\/\\\\\\\\/g' -e 's/["`$]/\\\\&/g' -e 's/%/%%/g')
while IFS= read -r line; do
    case $line in
        Exec=*) printf 'Exec="%s" gui\n' "$exec_path" ;;
        Icon=*) printf 'Icon=%s\n' "$icon" ;;
        *) printf '%s\n' "$line" ;;
    esac
done < "$here/vivavoce.desktop" > "$entry.part"
mv "$entry.part" "$entry"
cp "$here/vivavoce.svg" "$icon.part" && mv "$icon.part" "$icon"
command -v update-desktop-database >/dev/null && update-desktop-database -q "$share/applications" || true
echo "Vivavoce added to the application menu ($entry)"
