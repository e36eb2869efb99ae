#!/usr/bin/env bash
# The Debian package: `cpack -G DEB` in the build folder; its contents, the systemd unit's
# binary path and its dependency on Debian's LibTorch are checked, apt resolves its dependencies
# on this bookworm (`apt-get install --simulate`), and the unpacked package's /usr works on its
# own: `maskfill fill` completes a file, `maskfill serve` answers a completion, and Neovim loads
# the packaged plugin from the package's 'packpath' folder.
# MASKFILL_PACKAGE_CHROOT=1 also installs the .deb with apt into a clean bookworm (a minbase
# chroot by debootstrap, cached in deps/ as a tarball) and runs the same checks there. That
# takes 10-12 minutes on a 2-core machine (debootstrap ~6, LibTorch's 322 packages ~6), too
# much for every CI run; it needs root and Debian's mirror.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
: "${MASKFILL_BUILD_DIR:?set MASKFILL_BUILD_DIR to the build folder holding maskfill}"
build="$(cd "$MASKFILL_BUILD_DIR" && pwd)"
say() { echo "package: $*" >&2; }
if [[ ! -e "$build/libmaskfill_torch.so" ]] || ! "$build/maskfill" serve --help >/dev/null 2>&1; then
  say "no torch plugin or no serve command in $build: skipped"
  exit 0
fi
chroot_run="${MASKFILL_PACKAGE_CHROOT:-0}"
if [[ "$chroot_run" == 1 ]]; then
  [[ $(id -u) -eq 0 ]] || { say "the chroot run needs root"; exit 1; }
  command -v debootstrap >/dev/null || { say "debootstrap missing (apt-get install debootstrap)"; exit 1; }
fi
for v in $(env | grep -o '^MASKFILL_[A-Z_]*' || true); do unset "$v"; done

tmp="$(mktemp -d)"
chroot_dir="$tmp/bookworm"
mounted=()
cleanup() {
  for m in "${mounted[@]}"; do umount -l "$m" 2>/dev/null || true; done
  rm -rf "$tmp"
}
trap cleanup EXIT
complete_js="$root/tests/package/complete.js"
# 'packpath' holds /usr/share/nvim/site by default; -u NORC loads plugins but no user config.
nvim_check='lua io.stdout:write(vim.fn.exists(":MaskfillFill") .. " " .. tostring(require("maskfill").is_setup()))'

# --- the package -----------------------------------------------------------------------------
say "cpack -G DEB"
(cd "$build" && timeout 900 cpack -G DEB -B "$tmp/cpack" >"$tmp/cpack.log" 2>&1) ||
  { tail -20 "$tmp/cpack.log" >&2; say "cpack failed"; exit 1; }
deb="$(ls "$tmp"/cpack/maskfill_*.deb)"
say "built $(basename "$deb") ($(du -h "$deb" | cut -f1))"
contents="$(dpkg-deb -c "$deb" | awk '{print $6}')"
for path in ./usr/bin/maskfill ./usr/lib/maskfill/libmaskfill_torch.so \
    ./usr/share/maskfill/models/maskfill-tiny/model.safetensors ./usr/share/maskfill/systemd/maskfill-serve.service \
    ./usr/share/nvim/site/pack/maskfill/start/maskfill/plugin/maskfill.lua ./usr/share/doc/maskfill/README.md; do
  grep -qxF "$path" <<<"$contents" || { say "the package lacks $path"; exit 1; }
done
if [[ -e "$build/maskfill.vsix" ]]; then
  grep -qxF ./usr/share/maskfill/vscode/maskfill.vsix <<<"$contents" || { say "the package lacks the .vsix"; exit 1; }
fi
! grep -q '/tests/' <<<"$contents" || { say "the package carries test files"; exit 1; }
depends="$(dpkg-deb -f "$deb" Depends)"
say "Depends: $depends"
grep -q 'libtorch1\.13' <<<"$depends" || { say "the package does not depend on Debian's LibTorch"; exit 1; }
dpkg-deb -x "$deb" "$tmp/contents"
grep -q "^ExecStart=/usr/bin/maskfill serve" "$tmp/contents/usr/share/maskfill/systemd/maskfill-serve.service" ||
  { say "the systemd unit does not run /usr/bin/maskfill"; exit 1; }
say "apt resolves its dependencies on this system"
apt-get install --simulate --no-install-recommends "$deb" >"$tmp/simulate.log" 2>&1 ||
  { tail -20 "$tmp/simulate.log" >&2; say "apt cannot install the package here"; exit 1; }

# --- the unpacked package works on its own ----------------------------------------------------
usr="$tmp/contents/usr"
mkdir -p "$tmp/work"
cp "$root/samples/python/unfinished.py" "$tmp/work/"
(cd "$tmp/work" && timeout 600 "$usr/bin/maskfill" fill unfinished.py --line 17 --col 9 --candidates 8 --diff) \
  >"$tmp/fill.out" 2>"$tmp/fill.err" || { cat "$tmp/fill.err" >&2; say "the packaged maskfill fill failed"; exit 1; }
grep -q '^+' "$tmp/fill.out" || { cat "$tmp/fill.out" "$tmp/fill.err" >&2; say "the packaged fill printed no change"; exit 1; }
say "packaged fill: $(grep -c '^[+-][^+-]' "$tmp/fill.out") changed lines"
answer="$(cd "$tmp/work" && timeout 600 node "$complete_js" "$usr/bin/maskfill")" ||
  { say "the packaged maskfill serve did not answer"; exit 1; }
say "packaged serve answered $answer"
plugin="$(cd "$tmp/work" && timeout 120 nvim --headless -u NORC -i NONE -n --cmd "set packpath^=$usr/share/nvim/site" \
  +"$nvim_check" +qa 2>&1)"
[[ "$plugin" == "2 true" ]] || { say "Neovim did not load the packaged plugin: $plugin"; exit 1; }
say "Neovim $(nvim --version | head -1 | cut -d' ' -f2) loaded the packaged plugin"
if [[ "$chroot_run" != 1 ]]; then
  say "passed (MASKFILL_PACKAGE_CHROOT=1 also installs it into a clean bookworm chroot)"
  exit 0
fi

# --- a clean bookworm ------------------------------------------------------------------------
base="$root/deps/bookworm-minbase.tar"
if [[ ! -s "$base" ]]; then
  say "debootstrap --variant=minbase bookworm (once; cached as $base)"
  mkdir -p "$root/deps" "$tmp/base"
  timeout 1200 debootstrap --variant=minbase bookworm "$tmp/base" http://deb.debian.org/debian >"$tmp/debootstrap.log" 2>&1 ||
    { tail -20 "$tmp/debootstrap.log" >&2; say "debootstrap failed"; exit 1; }
  tar -C "$tmp/base" -cf "$base.part" . && mv "$base.part" "$base"
  rm -rf "$tmp/base"
fi
mkdir -p "$chroot_dir"
tar -C "$chroot_dir" -xf "$base"
for fs in proc dev; do
  mount --bind "/$fs" "$chroot_dir/$fs"
  mounted=("$chroot_dir/$fs" "${mounted[@]}")
done
cp /etc/resolv.conf "$chroot_dir/etc/resolv.conf"
cp "$deb" "$chroot_dir/tmp/maskfill.deb"
cp "$complete_js" "$chroot_dir/tmp/complete.js"
cp "$root/samples/python/unfinished.py" "$chroot_dir/tmp/unfinished.py"
in_root() { timeout "$1" chroot "$chroot_dir" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 "${@:2}"; }

say "apt-get install ./maskfill.deb (with neovim and nodejs for the checks) in the clean bookworm"
in_root 600 apt-get update -qq >"$tmp/apt.log" 2>&1 || { tail -20 "$tmp/apt.log" >&2; say "apt-get update failed"; exit 1; }
in_root 1200 env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends /tmp/maskfill.deb neovim nodejs \
  >>"$tmp/apt.log" 2>&1 || { tail -30 "$tmp/apt.log" >&2; say "installing the package failed"; exit 1; }
say "installed: $(in_root 30 dpkg-query -W -f='${Package} ${Version}' maskfill)"
in_root 600 sh -c 'cd /tmp && maskfill fill unfinished.py --line 17 --col 9 --candidates 8 --diff' >"$tmp/fill.out" 2>"$tmp/fill.err" ||
  { cat "$tmp/fill.err" >&2; say "maskfill fill failed in the chroot"; exit 1; }
grep -q '^+' "$tmp/fill.out" || { cat "$tmp/fill.out" "$tmp/fill.err" >&2; say "maskfill fill printed no change in the chroot"; exit 1; }
say "fill in the chroot: $(grep -c '^[+-][^+-]' "$tmp/fill.out") changed lines"
answer="$(in_root 600 node /tmp/complete.js /usr/bin/maskfill)" || { say "maskfill serve did not answer in the chroot"; exit 1; }
say "serve in the chroot answered $answer"
plugin="$(in_root 120 nvim --headless -u NORC -i NONE -n +"$nvim_check" +qa 2>&1)"
[[ "$plugin" == "2 true" ]] || { say "Neovim did not load the packaged plugin in the chroot: $plugin"; exit 1; }
say "Neovim $(in_root 30 nvim --version | head -1 | cut -d' ' -f2) in the chroot loaded the packaged plugin"
say "passed, in the clean bookworm too"
