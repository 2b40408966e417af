#!/bin/sh
# install-deps.sh - install what forcetls needs on Debian 12, as root.
#   install-deps.sh          build and run the daemon and its demo
#   install-deps.sh --test   also what the test suite needs
#   install-deps.sh --package what packaging/build-deb.sh needs
# Postfix is installed unconfigured ("No configuration"): the demo and the
# tests run private Postfix instances on loopback ports and never touch or
# start the system one.
set -eu

if [ "$(id -u)" != 0 ]; then
    echo "install-deps.sh: run me as root" >&2
    exit 1
fi

build="build-essential autoconf automake pkg-config ca-certificates
       libmilter-dev libconfig-dev libssl-dev libidn2-dev libcmocka-dev"
demo="postfix swaks openssl libnet-ssleay-perl libio-socket-ssl-perl procps iproute2"
# The package tests (tests/package/): build the .deb and lint it, debootstrap
# pristine Debian 12 roots, install into them by chroot and boot one with
# systemd-nspawn; the unit is checked with systemd-analyze; the RPM spec is
# built with rpmbuild and linted.
package="debhelper dpkg-dev fakeroot lintian debootstrap systemd systemd-container
         rpm rpmlint cpio tar xz-utils"
# The shared libraries of sendmail-bin, which the Sendmail tests unpack with
# dpkg -x (no dependencies installed): a pristine Debian 12 lacks libldap.
test="clang m4 util-linux perl dpkg apt miltertest jq
      libdb5.3 libldap-2.5-0 liblockfile1 libnsl2 libsasl2-2
      $package"

case "${1:-}" in
"") pkgs="$build $demo" ;;
--test) pkgs="$build $demo $test" ;;
--package) pkgs="$build debhelper dpkg-dev fakeroot lintian" ;;
*)
    echo "usage: install-deps.sh [--test | --package]" >&2
    exit 64
    ;;
esac

export DEBIAN_FRONTEND=noninteractive
if ! dpkg -s postfix >/dev/null 2>&1; then
    echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
fi
missing=""
for p in $pkgs; do
    dpkg -s "$p" >/dev/null 2>&1 || missing="$missing $p"
done
if [ -n "$missing" ]; then
    apt-get update -qq
    # shellcheck disable=SC2086
    apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi
echo "install-deps.sh: all packages present"
