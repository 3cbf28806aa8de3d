#!/usr/bin/env bash
# Runs in the Dockerfile's first stage, on any Debian bookworm base: collects nginx, the shared
# libraries it loads and the few files it reads into OUT, the whole root filesystem of the
# runtime image (which then adds the static vrrpd and the configs).
#
#   rootfs.sh OUT [EXTRA_PROGRAM...]
set -euo pipefail
out=${1:?usage: rootfs.sh OUT [EXTRA_PROGRAM...]}
shift

if ! command -v nginx >/dev/null; then
  # A registry base such as debian:bookworm-slim: install nginx-light from its own apt sources.
  # (The offline base from docker/build-base.sh already has it and never gets here.)
  echo "rootfs.sh: nginx not in the base image, installing nginx-light with apt-get" >&2
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends nginx-light >/dev/null
fi

mkdir -p "$out"
# merged /usr: keep /lib, /lib64, /bin, /sbin as the same symlinks, so that the ELF interpreter
# path (/lib64/ld-linux-x86-64.so.2) and ldd's paths resolve in the new tree.
for d in bin sbin lib lib64; do
  if [ -L "/$d" ]; then
    link=$(readlink "/$d")
    case $link in /*) mkdir -p "$out$link" ;; *) mkdir -p "$out/$link" ;; esac
    ln -s "$link" "$out/$d"
  fi
done

copy() { # copy paths (dereferenced) keeping their directories
  local f
  for f in "$@"; do
    mkdir -p "$out$(dirname "$f")"
    cp -L "$f" "$out$f"
  done
}
with_libs() { # programs and every shared object ldd lists for them
  local p
  for p in "$@"; do
    p=$(command -v "$p") || { echo "rootfs.sh: $p not found" >&2; exit 1; }
    copy "$p"
    # "libx.so => /path (addr)" and "/lib64/ld-linux-x86-64.so.2 (addr)"
    ldd "$p" | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }' \
      | sort -u | while read -r lib; do copy "$lib"; done
  done
}

with_libs /usr/sbin/nginx "$@"
copy /etc/nsswitch.conf /etc/nginx/mime.types
# nginx's master runs as root, its workers as www-data.
grep -E '^(root|www-data|nobody):' /etc/passwd >"$out/etc/passwd"
grep -E '^(root|www-data|nogroup):' /etc/group >"$out/etc/group"
# nginx's compiled-in paths (nginx -V): temp dirs under /var/lib/nginx, pid in /run.
mkdir -p "$out/var/lib/nginx" "$out/var/log/nginx" "$out/run" "$out/tmp" "$out/usr/local/bin"
chmod 1777 "$out/tmp"
echo "rootfs.sh: $(du -sh "$out" | cut -f1) in $out" >&2
