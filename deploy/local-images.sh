#!/usr/bin/env bash
# Makes the base images the Dockerfile builds FROM out of Debian's packages,
# tagged with exactly the names it uses, so that `docker build .` works on a
# machine that reaches no container registry:
#
#   debian:trixie-slim   Debian trixie, debootstrap's minimal variant
#   golang:1.26-trixie   that, with gcc and libc6-dev (cgo, for SQLite) and the
#                        Go toolchain of this machine (it must be Go 1.26)
#
# The build image also trusts the certificate authorities this machine adds
# to Debian's (/usr/local/share/ca-certificates): behind a proxy that
# inspects TLS, the build's module downloads go through it as the machine's
# own do. The runtime image gets only Debian's ca-certificates.
#
# An image that exists already is left alone, so a second run takes a second;
# DEBIAN_MIRROR picks another mirror. It needs a running Docker engine and,
# the first time, debootstrap and root.
#
#   bash deploy/local-images.sh && docker build -t bazaar:dev .
set -euo pipefail

DEBIAN_IMAGE=debian:trixie-slim
GO_IMAGE=golang:1.26-trixie
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}

have() { docker image inspect "$1" >/dev/null 2>&1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

if have "$DEBIAN_IMAGE"; then
  echo "$DEBIAN_IMAGE is there"
else
  command -v debootstrap >/dev/null || { echo "debootstrap is needed: apt-get install -y debootstrap" >&2; exit 1; }
  echo "making $DEBIAN_IMAGE from $MIRROR"
  debootstrap --variant=minbase trixie "$work/root" "$MIRROR" >"$work/debootstrap.log" 2>&1 ||
    { tail -n 20 "$work/debootstrap.log" >&2; exit 1; }
  # As Debian's own images do: apt keeps no package caches or downloaded
  # packages in a layer, and (slim) no documentation, manual pages or
  # translations, now or from packages installed on top later.
  cat >"$work/root/etc/apt/apt.conf.d/docker-clean" <<'CLEAN'
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
Acquire::Languages "none";
CLEAN
  cat >"$work/root/etc/dpkg/dpkg.cfg.d/slim" <<'SLIM'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
path-exclude /usr/share/locale/*
path-exclude /usr/share/lintian/*
SLIM
  find "$work/root/usr/share/doc" -type f ! -name copyright -delete
  rm -rf "$work"/root/usr/share/{man,info,locale,lintian}/* \
    "$work"/root/var/lib/apt/lists/* "$work"/root/var/cache/apt/archives/*.deb \
    "$work"/root/var/cache/apt/*.bin "$work"/root/var/cache/debconf/*-old "$work"/root/var/log/*.log
  tar -C "$work/root" -c . | docker import \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'CMD ["bash"]' - "$DEBIAN_IMAGE" >/dev/null
fi

if have "$GO_IMAGE"; then
  echo "$GO_IMAGE is there"
else
  goroot=$(go env GOROOT)
  case $(go env GOVERSION) in
    go1.26*) ;;
    *) echo "$GO_IMAGE needs Go 1.26 on this machine; found $(go env GOVERSION)" >&2; exit 1 ;;
  esac
  echo "making $GO_IMAGE with the Go toolchain in $goroot"
  mkdir "$work/go" "$work/ca"
  tar -C "$goroot" --exclude=./pkg/obj --exclude=./test -c . | tar -C "$work/go" -x
  cp /usr/local/share/ca-certificates/*.crt "$work/ca/" 2>/dev/null || true
  cat >"$work/Dockerfile" <<EOF
FROM $DEBIAN_IMAGE
RUN apt-get update \\
 && apt-get install -y --no-install-recommends gcc libc6-dev ca-certificates \\
 && rm -rf /var/lib/apt/lists/*
COPY ca /usr/local/share/ca-certificates
RUN update-ca-certificates >/dev/null
COPY go /usr/local/go
ENV GOPATH=/go GOTOOLCHAIN=local PATH=/go/bin:/usr/local/go/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
WORKDIR /go
EOF
  docker build -q -t "$GO_IMAGE" "$work" >/dev/null
fi
