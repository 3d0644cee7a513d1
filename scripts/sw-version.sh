#!/bin/sh
# Stamps the deployment version into a built site (trunk's post_build hook, Trunk.toml; or
# by hand: scripts/sw-version.sh DIST_DIR). The version is a hash over every file of the
# site, so any change to it (page, wasm, worker, styles, matrices, model) is a new version:
#   sw.js    gets VERSION and FILES ({ path: sha256 }, sw.js itself left out), which it
#            caches and checks at install (public/sw.js);
#   boot.js  gets VERSION, the page's own version, to tell whether a waiting service
#            worker is newer than the page (public/boot.js).
# Running it again on the same files gives the same stamps.
set -eu
cd "${1:-${TRUNK_STAGING_DIR:?run by trunk, or pass the site folder}}"

# sha256sum (GNU coreutils), or shasum on macOS; both print "sha256  path".
if command -v sha256sum >/dev/null 2>&1; then sha256() { sha256sum "$@"; }; else sha256() { shasum -a 256 "$@"; }; fi

stamp() { # NAME VALUE FILE: rewrites the line `const NAME = ...; // stamped`
  awk -v name="$1" -v value="$2" '
    index($0, "const " name " = ") == 1 && / \/\/ stamped$/ { print "const " name " = " value "; // stamped"; next }
    { print }' "$3" > "$3.stamp"
  mv "$3.stamp" "$3"
}
hashes() { # every file (but $1, if given), as "sha256  path" lines, in a fixed order
  find . -type f ! -path "./${1:-.}" -print | sed 's|^\./||' | LC_ALL=C sort | while IFS= read -r f; do
    sha256 "$f"
  done
}

stamp VERSION '"dev"' sw.js
stamp FILES '{}' sw.js
stamp VERSION '"dev"' boot.js
version=$(hashes | sha256 | cut -c1-16)
stamp VERSION "\"$version\"" boot.js
files=$(hashes sw.js | awk 'BEGIN { printf "{" } { printf "%s\"%s\": \"%s\"", (NR > 1 ? ", " : ""), $2, $1 } END { printf "}" }')
stamp FILES "$files" sw.js
stamp VERSION "\"$version\"" sw.js
echo "sw-version.sh: version $version, $(hashes sw.js | wc -l) files"
