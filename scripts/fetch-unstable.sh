#!/usr/bin/env bash
# Downloads one package of Debian's unstable distribution and its whole dependency closure, and
# unpacks them into DEST/root without installing anything: apt resolves and checks signatures
# with a private state folder (the system's package lists and dpkg database are never touched).
# Unstable's binaries need its newer C library, which is unpacked with them: run them through
# DEST/root/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2 --library-path ....
#
#   scripts/fetch-unstable.sh DEST PACKAGE [VERSION_PREFIX]
#
# Fails when unstable's candidate version does not start with VERSION_PREFIX. Prints the version.
# DEST is emptied first.
set -euo pipefail
(($# >= 2)) || { echo "usage: fetch-unstable.sh DEST PACKAGE [VERSION_PREFIX]" >&2; exit 2; }
dest="$1" package="$2" want="${3:-}"
command -v apt-get >/dev/null || { echo "fetch-unstable: apt-get not found (Debian or Ubuntu needed)" >&2; exit 1; }
keyring=/usr/share/keyrings/debian-archive-keyring.gpg
[[ -r "$keyring" ]] || { echo "fetch-unstable: $keyring missing (apt-get install debian-archive-keyring)" >&2; exit 1; }
apt_dir="$dest/apt"
rm -rf "$dest"
mkdir -p "$apt_dir"/{lists/partial,cache/archives/partial} "$dest/root"
echo "deb [signed-by=$keyring] http://deb.debian.org/debian sid main" >"$apt_dir/sources.list"
: >"$apt_dir/status"  # an empty dpkg database: the whole dependency closure is downloaded
apt_options=(-o "Dir::Etc::sourcelist=$apt_dir/sources.list" -o Dir::Etc::sourceparts=/nonexistent
  -o "Dir::State::Lists=$apt_dir/lists" -o "Dir::Cache=$apt_dir/cache" -o "Dir::State::status=$apt_dir/status"
  -o APT::Architecture=amd64 -o APT::Architectures::=amd64 -o Debug::NoLocking=1 -qq)
echo "fetch-unstable: reading unstable's package list" >&2
apt-get "${apt_options[@]}" update >&2
version="$(apt-cache "${apt_options[@]}" policy "$package" | awk '/Candidate:/ {print $2}')"
if [[ -z "$version" || "$version" == "(none)" || "$version" != "$want"* ]]; then
  echo "fetch-unstable: unstable has $package '${version:-none}', not ${want:-any}*" >&2
  exit 1
fi
echo "fetch-unstable: downloading $package $version and its dependencies" >&2
apt-get "${apt_options[@]}" -y --no-install-recommends --download-only install "$package=$version" >&2
for deb in "$apt_dir"/cache/archives/*.deb; do dpkg-deb -x "$deb" "$dest/root"; done
rm -rf "$apt_dir/cache" "$apt_dir/lists"  # the lists and packages, no longer needed
[[ -x "$dest/root/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2" ]] || {
  echo "fetch-unstable: the unpacked packages lack the dynamic loader" >&2; exit 1; }
echo "$version"
