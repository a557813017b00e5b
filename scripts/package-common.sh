# Shared by scripts/package-deb, scripts/package-rpm and scripts/test-packaging (sourced, not run).
# shellcheck shell=bash

root="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.." && pwd)"
# Where the packages land (dist/ is ignored by git).
PACKAGE_OUTDIR_DEFAULT="$root/dist/packages"

# Debian packages each packaging step needs, besides what the steps themselves pull in
# (`apt-get build-dep` installs the Build-Depends of debian/control).
PKG_DEPS_DEB=(dpkg-dev)
PKG_DEPS_RPM=(rpm)
PKG_DEPS_TEST=(lintian cpio knot-dnsutils iproute2 util-linux procps man-db)

plog() { echo "${PLOG_NAME:-package}: $*" >&2; }
pdie() { plog "$*"; exit 1; }

as_root() {
  if ((EUID == 0)); then "$@"; else
    command -v sudo >/dev/null || pdie "need root (or sudo) for: $*"
    sudo "$@"
  fi
}

apt_updated=0
apt_update_once() {
  ((apt_updated)) && return 0
  plog "apt-get update"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2
  apt_updated=1
}

# apt_run ARGS...: apt-get with services kept from starting (no init system here, but maintainer
# scripts may call invoke-rc.d) and no prompt.
apt_run() {
  local created=0 rc=0
  if [[ ! -e /usr/sbin/policy-rc.d ]]; then
    printf '#!/bin/sh\nexit 101\n' | as_root tee /usr/sbin/policy-rc.d >/dev/null
    as_root chmod 755 /usr/sbin/policy-rc.d
    created=1
  fi
  as_root env DEBIAN_FRONTEND=noninteractive apt-get -y -qq --no-install-recommends \
    -o DPkg::Lock::Timeout=120 "$@" >&2 || rc=$?
  ((created)) && as_root rm -f /usr/sbin/policy-rc.d
  return "$rc"
}

# apt_ensure PACKAGE...: installs those not installed yet.
apt_ensure() {
  local p missing=()
  for p in "$@"; do
    [[ "$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)" == installed ]] || missing+=("$p")
  done
  ((${#missing[@]})) || return 0
  apt_update_once
  plog "installing Debian packages: ${missing[*]}"
  apt_run install "${missing[@]}"
}

# export_tree DIR: the source tree as a clean clone of it would have it, plus uncommitted changes
# and new files that git does not ignore (no node_modules/, dist/, runtime files...).
export_tree() {
  local dest=$1
  mkdir -p "$dest"
  if git -C "$root" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
    (cd "$root" && git ls-files -z --cached --others --exclude-standard |
      while IFS= read -r -d '' f; do [[ -e $f || -L $f ]] && printf '%s\0' "$f"; done |
      tar --null -T - -cf -) | tar -C "$dest" -xf -
  else
    (cd "$root" && tar --exclude=./node_modules --exclude=./dist --exclude=./.git \
      --exclude=./etc/config/runtime --exclude=__pycache__ --exclude=./debian/build -cf - .) |
      tar -C "$dest" -xf -
  fi
}

package_version() { node -p 'require(process.argv[1]).version' "$root/package.json"; }
