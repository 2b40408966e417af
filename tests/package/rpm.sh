#!/bin/sh
# tests/package/rpm.sh - builds the RPM of packaging/rpm/forcetls.spec from the
# `make dist` tarball with `rpmbuild -bb --nodeps` (on Debian too: package rpm)
# and checks it: the spec's version against configure.ac's, the installed layout
# of the contract's "Packaging" section and nothing else, %config(noreplace) on
# the configuration, the scriptlets (user and group created in %pre, systemd
# preset/disable/try-restart, the socket-directory helper in %post); then it
# installs, upgrades and erases the RPM with `rpm --root` in a copy of the cached
# Debian 12 minbase root ($FORCETLS_ROOT_TAR, default
# /var/cache/forcetls-test/bookworm-minbase.tar; skipped without it or root),
# and runs rpmlint on the spec and the RPM when rpmlint is installed. TAP output.
# The end-to-end tests do not run: %check runs the unit tests only.
#
# Usage: tests/package/rpm.sh [forcetls-VERSION.tar.gz]
# Without an argument it runs `make dist` in $top_builddir (if configured), or
# in the source tree if that is configured in place, else in a throwaway build
# directory. All work, rpmbuild's _topdir included (never
# ~/rpmbuild), is in a private temporary directory removed at exit; set
# RPM_OUTDIR=DIR to keep the RPM, the build log and rpmlint's output
# (rpmlint-output.txt) there (default: $FORCETLS_PKG_OUT of tests/package/run.sh).
set -eu

here=$(cd "$(dirname "$0")" && pwd)
top_srcdir=${top_srcdir:-$(cd "$here/../.." && pwd)}
top_builddir=${top_builddir:-}
RPM_OUTDIR=${RPM_OUTDIR:-${FORCETLS_PKG_OUT:-}}

if ! command -v rpmbuild >/dev/null 2>&1 || ! command -v rpmspec >/dev/null 2>&1; then
    # Under CI (CI set) a missing tool is a missing install step: fail.
    if [ -n "${CI:-}" ] && [ "${CI:-}" != 0 ]; then
        echo "1..1"
        echo "not ok 1 - rpmbuild/rpmspec installed (CI; packaging/install-deps.sh --test installs rpm)"
        exit 1
    fi
    echo "1..0 # SKIP rpmbuild/rpmspec not installed (Debian: apt-get install rpm)"
    exit 0
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/forcetls-rpm.XXXXXX")
cleanup() { rm -rf "$work"; }
trap cleanup EXIT
trap 'exit 1' HUP INT TERM

n=0
failed=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
not_ok() { n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $1"; }
check() { # check DESCRIPTION COMMAND...: ok if COMMAND succeeds
    d=$1; shift
    if "$@"; then ok "$d"; else not_ok "$d"; fi
}
diag() { sed 's/^/# /'; }
# bail DESCRIPTION: what follows needs this step; stop with the plan so far.
bail() { not_ok "$1"; echo "1..$n"; exit 1; }

# --- the tarball --------------------------------------------------------------
version=$(sed -n 's/^AC_INIT(\[forcetls\], *\[\([^]]*\)\].*/\1/p' "$top_srcdir/configure.ac")
tarball=
if [ $# -ge 1 ]; then
    tarball=$1
elif { [ -n "$top_builddir" ] && [ -f "$top_builddir/Makefile" ]; } ||
    [ -f "$top_srcdir/config.status" ]; then
    [ -n "$top_builddir" ] && [ -f "$top_builddir/Makefile" ] || top_builddir=$top_srcdir
    if make -s -C "$top_builddir" dist >"$work/dist.log" 2>&1; then
        mv "$top_builddir/forcetls-$version.tar.gz" "$work/"
        tarball=$work/forcetls-$version.tar.gz
    fi
else
    mkdir "$work/build"
    if { [ -x "$top_srcdir/configure" ] || (cd "$top_srcdir" && autoreconf -fi); } \
        >"$work/dist.log" 2>&1 &&
        (cd "$work/build" && "$top_srcdir/configure" -q && make -s dist) \
        >>"$work/dist.log" 2>&1; then
        tarball=$work/build/forcetls-$version.tar.gz
    fi
fi
if [ -z "$tarball" ] || [ ! -f "$tarball" ]; then
    [ -f "$work/dist.log" ] && tail -n 20 "$work/dist.log" | diag
    bail "make dist makes forcetls-$version.tar.gz"
fi
ok "the tarball: $(basename "$tarball")"

# The spec and the sysusers.d file as shipped in the tarball.
top=$(tar -tzf "$tarball" | sed -n '1s|/.*||p')
mkdir -p "$work/top/SOURCES" "$work/src"
tar -xzf "$tarball" -C "$work/src" "$top/packaging/rpm/forcetls.spec" \
    "$top/packaging/rpm/forcetls.sysusers" 2>"$work/tar.err" ||
    { diag <"$work/tar.err"; bail "the tarball carries packaging/rpm/forcetls.spec and forcetls.sysusers"; }
ok "the tarball carries packaging/rpm/forcetls.spec and forcetls.sysusers"
spec=$work/src/$top/packaging/rpm/forcetls.spec
cp "$tarball" "$work/top/SOURCES/$top.tar.gz"

# --- one version --------------------------------------------------------------
rpmdefs() { rpmspec --define "_topdir $work/top" --define 'dist %{nil}' "$@"; }
spec_vr=$(rpmdefs -q --srpm --qf '%{VERSION}-%{RELEASE}' "$spec")
spec_v=${spec_vr%-*}
if [ "$spec_v" = "$version" ]; then
    ok "spec Version $spec_v = configure.ac's AC_INIT version"
else
    not_ok "spec Version $spec_v = configure.ac's AC_INIT version $version"
fi
last_entry=$(rpmdefs -q --srpm --qf '%{CHANGELOGNAME}' "$spec")
case $last_entry in
*" - $spec_vr" | *" $spec_vr") ok "newest %changelog entry is $spec_vr" ;;
*) not_ok "newest %changelog entry is $spec_vr (got: $last_entry)" ;;
esac

# --- rpmbuild -----------------------------------------------------------------
# Debian's rpm runs /usr/lib/rpm/brp-compress (#!/bin/sh, but bash's read -d)
# with dash, which fails and leaves the man pages uncompressed; run it with bash
# there, as on Fedora where /bin/sh is bash.
set -- --define "_topdir $work/top"
if [ "$(readlink -f /bin/sh)" != "$(readlink -f /bin/bash)" ] &&
    rpm --eval '%__os_install_post' | grep -q '^ */usr/lib/rpm/brp-compress '; then
    post=$(rpm --eval '%__os_install_post' | sed -e '/^ *$/d' -e 's/$/;/' \
        -e 's|^ */usr/lib/rpm/brp-compress |/bin/bash /usr/lib/rpm/brp-compress |' | tr '\n' ' ')
    set -- "$@" --define "__os_install_post $post"
fi
start=$(date +%s)
if rpmbuild "$@" -bb --nodeps "$spec" >"$work/rpmbuild.log" 2>&1; then
    ok "rpmbuild -bb --nodeps ($(($(date +%s) - start)) s)"
else
    tail -n 30 "$work/rpmbuild.log" | diag
    [ -n "${RPM_OUTDIR:-}" ] && mkdir -p "$RPM_OUTDIR" && cp "$work/rpmbuild.log" "$RPM_OUTDIR/"
    bail "rpmbuild -bb --nodeps"
fi
rpmfile=$(find "$work/top/RPMS" -name "forcetls-$spec_vr.*.rpm" ! -name '*-debug*' | head -n 1)
[ -n "$rpmfile" ] || bail "rpmbuild made forcetls-$spec_vr.ARCH.rpm"
ok "rpmbuild made $(basename "$rpmfile")"
units_ran() {
    grep -q '^PASS: tests/unit/test_policy ' "$work/rpmbuild.log" &&
        grep -qx '# FAIL: *0' "$work/rpmbuild.log"
}
no_e2e() { ! grep -q '^[A-Z]*: tests/e2e/' "$work/rpmbuild.log"; }
check "%check ran the unit tests, none failed" units_ran
check "%check ran no end-to-end test" no_e2e

# --- the files ----------------------------------------------------------------
rpm -qlp "$rpmfile" >"$work/files" 2>/dev/null
has() { grep -qx "$1" "$work/files"; }
for f in /usr/sbin/forcetls-milter /usr/bin/forcetls /etc/forcetls/forcetls.conf \
    /usr/libexec/forcetls/forcetls-socketdir \
    /usr/lib/systemd/system/forcetls-milter.service \
    /usr/lib/sysusers.d/forcetls.conf \
    '/usr/share/man/man1/forcetls\.1\(\.gz\)\{0,1\}' \
    '/usr/share/man/man8/forcetls-milter\.8\(\.gz\)\{0,1\}' \
    '/usr/share/man/man5/forcetls\.conf\.5\(\.gz\)\{0,1\}' \
    '/usr/share/licenses/forcetls\(-[0-9.]*\)\{0,1\}/LICENSE' \
    '/usr/share/doc/forcetls\(-[0-9.]*\)\{0,1\}/README\.md'; do
    check "the RPM has $f" has "$f"
done
# Nothing outside the layout (build-id links are rpm's own).
grep -v -x -e '/usr/sbin/forcetls-milter' -e '/usr/bin/forcetls' \
    -e '/etc/forcetls' -e '/etc/forcetls/forcetls.conf' \
    -e '/usr/libexec/forcetls' -e '/usr/libexec/forcetls/forcetls-socketdir' \
    -e '/usr/lib/systemd/system/forcetls-milter.service' \
    -e '/usr/lib/sysusers.d/forcetls.conf' \
    -e '/usr/share/man/man[158]/forcetls[.a-z-]*\.[158]\(\.gz\)\{0,1\}' \
    -e '/usr/share/licenses/forcetls\(-[0-9.]*\)\{0,1\}\(/.*\)\{0,1\}' \
    -e '/usr/share/doc/forcetls\(-[0-9.]*\)\{0,1\}\(/.*\)\{0,1\}' \
    -e '/usr/lib/\.build-id\(/.*\)\{0,1\}' "$work/files" >"$work/extra" || :
if [ -s "$work/extra" ]; then
    diag <"$work/extra"
    not_ok "the RPM has nothing outside the contract's layout"
else
    ok "the RPM has nothing outside the contract's layout"
fi
rpm -qp --qf '[%{FILEMODES:perms} %{FILEUSERNAME}:%{FILEGROUPNAME} %{FILEFLAGS:fflags} %{FILENAMES}\n]' \
    "$rpmfile" >"$work/attrs" 2>/dev/null
attr() { grep -q "^$1 $2\$" "$work/attrs"; }
check "/etc/forcetls/forcetls.conf is %config(noreplace), root-owned, 0644" \
    attr '-rw-r--r-- root:root cn' /etc/forcetls/forcetls.conf
check "/usr/sbin/forcetls-milter is root-owned, 0755" \
    attr '-rwxr-xr-x root:root ' /usr/sbin/forcetls-milter
check "/usr/bin/forcetls is root-owned, 0755" \
    attr '-rwxr-xr-x root:root ' /usr/bin/forcetls
check "forcetls-socketdir is root-owned, 0755" \
    attr '-rwxr-xr-x root:root ' /usr/libexec/forcetls/forcetls-socketdir
mkdir "$work/root"
# unpack_rpm: rpm2cpio | cpio into $work/root; their errors are shown.
unpack_rpm() {
    if rpm2cpio "$rpmfile" >"$work/cpio" 2>"$work/cpio.err" &&
        (cd "$work/root" && cpio -idm --quiet <"$work/cpio" 2>>"$work/cpio.err"); then
        return 0
    fi
    diag <"$work/cpio.err"
    return 1
}
check "rpm2cpio | cpio -idm unpacks the RPM" unpack_rpm
unit=$work/root/usr/lib/systemd/system/forcetls-milter.service
unit_ok() {
    grep -q '^ExecStart=/usr/sbin/forcetls-milter ' "$unit" && grep -qx 'User=forcetls' "$unit"
}
unit_clean() { ! grep -n -e '@[a-z_]*@' -e /usr/local "$unit"; }
check "the unit runs /usr/sbin/forcetls-milter as User=forcetls" unit_ok
check "the unit's paths are the RPM's (no @...@, no /usr/local)" unit_clean

# --- the scriptlets -----------------------------------------------------------
rpm -qp --scripts "$rpmfile" >"$work/scripts" 2>/dev/null
section() { # section NAME: the body of one scriptlet in rpm -q --scripts
    awk -v want="$1" '/^[a-z]+ scriptlet/ { on = ($1 == want); next } on' "$work/scripts"
}
script_has() { # script_has NAME REGEX: a line of scriptlet NAME (not a comment) matches
    section "$1" | grep -v '^ *#' | grep -q -e "$2"
}
check "%pre creates group forcetls (groupadd -r)" \
    script_has preinstall 'groupadd -r forcetls'
check "%pre creates system user forcetls (useradd -r ... forcetls)" \
    script_has preinstall 'useradd -r .*forcetls$'
check "%post presets forcetls-milter.service" \
    script_has postinstall 'preset.*forcetls-milter\.service\|systemd-update-helper install-system-units forcetls-milter\.service'
check "%post tests for /var/spool/postfix" script_has postinstall '/var/spool/postfix'
check "%post runs forcetls-socketdir" \
    script_has postinstall '/usr/libexec/forcetls/forcetls-socketdir'
check "%preun disables and stops forcetls-milter.service on erase" \
    script_has preuninstall 'forcetls-milter\.service'
check "%postun restarts forcetls-milter.service on upgrade" \
    script_has postuninstall 'forcetls-milter\.service'

# Run %pre with stand-ins for getent, groupadd and useradd: on a system without
# the user it must create group and user; on one with them, nothing.
rpm -qp --qf '%{PREIN}' "$rpmfile" >"$work/pre.sh" 2>/dev/null
mkdir "$work/bin"
# shellcheck disable=SC2016 # the stubs expand $* and $STUBLOG when they run
for c in groupadd useradd; do
    printf '#!/bin/sh\necho "%s $*" >>"$STUBLOG"\n' "$c" >"$work/bin/$c"
done
# shellcheck disable=SC2016
printf '#!/bin/sh\n[ "$GETENT_HAS" = yes ]\n' >"$work/bin/getent"
chmod +x "$work/bin/"*
run_pre() { # run_pre yes|no: %pre with getent saying the user exists or not
    : >"$work/stub.log"
    GETENT_HAS=$1 STUBLOG=$work/stub.log PATH="$work/bin:$PATH" sh "$work/pre.sh" 1 >/dev/null 2>&1
}
if run_pre no && grep -qx 'groupadd -r forcetls' "$work/stub.log" &&
    grep -q '^useradd -r -g forcetls .*forcetls$' "$work/stub.log"; then
    ok "%pre run on a system without forcetls: groupadd and useradd forcetls"
else
    diag <"$work/stub.log"
    not_ok "%pre run on a system without forcetls: groupadd and useradd forcetls"
fi
if run_pre yes && [ ! -s "$work/stub.log" ]; then
    ok "%pre run on a system with forcetls: changes nothing, exits 0"
else
    diag <"$work/stub.log"
    not_ok "%pre run on a system with forcetls: changes nothing, exits 0"
fi

# The packaged daemon accepts the packaged configuration (warnings about the
# user and directories that only an installation creates are fine).
conf_ok() {
    "$work/root/usr/sbin/forcetls-milter" -n -c "$work/root/etc/forcetls/forcetls.conf" \
        >"$work/conf-check.txt" 2>&1 || { diag <"$work/conf-check.txt"; return 1; }
}
check "forcetls-milter -n accepts the RPM's forcetls.conf" conf_ok
# The packaged tool explains a mail by the packaged configuration; its last
# line is a decision line.
explain_ok() {
    "$work/root/usr/bin/forcetls" explain -c "$work/root/etc/forcetls/forcetls.conf" \
        rcpt=postmaster@example.org >"$work/explain.txt" 2>&1 &&
        tail -n 1 "$work/explain.txt" | grep -q '^s=explain decision=accept ' ||
        { diag <"$work/explain.txt"; return 1; }
}
check "forcetls explain judges by the RPM's forcetls.conf" explain_ok

# --- installed into a pristine Debian 12 root ---------------------------------
# `rpm --root` runs the scriptlets chrooted there: %pre must create the user,
# %post the socket directory; then an upgrade keeps an edited configuration
# and an erase removes the files but not the user. The root is the cached
# debootstrap --variant=minbase tar (packaging/debian-root.sh makes it), with
# only what %post looks at added: a group postfix and /var/spool/postfix.
roottar=${FORCETLS_ROOT_TAR:-/var/cache/forcetls-test/bookworm-minbase.tar}
skip_root=
if [ "$(id -u)" -ne 0 ]; then
    skip_root="not root (chroot)"
elif [ ! -f "$roottar" ]; then
    skip_root="no $roottar (packaging/debian-root.sh makes it)"
elif ! command -v chroot >/dev/null 2>&1; then
    skip_root="no chroot"
fi
if [ -n "$skip_root" ]; then
    n=$((n + 1))
    echo "ok $n - install, upgrade and erase in a Debian 12 root # SKIP $skip_root"
else
    r=$work/debroot
    mkdir "$r"
    tar -xf "$roottar" -C "$r"
    inroot() { chroot "$r" "$@"; }
    rpmr() { rpm --root "$r" --dbpath /var/lib/rpm "$@" 2>>"$work/rpm-root.log"; }
    rpmr --initdb || :
    if rpmr -i --nodeps "$rpmfile" && rpmr -V --nodeps forcetls >>"$work/rpm-root.log"; then
        ok "rpm -i in the root; rpm -V finds every file as packaged"
    else
        diag <"$work/rpm-root.log"
        not_ok "rpm -i in the root; rpm -V finds every file as packaged"
    fi
    user_ok() { # a system user with its own group, no login shell
        inroot getent passwd forcetls | awk -F: -v g="$(inroot getent group forcetls | cut -d: -f3)" \
            '$3 < 1000 && $4 == g && $7 ~ /nologin$/ { ok = 1 } END { exit !ok }'
    }
    check "%pre made system user and group forcetls (no login shell)" user_ok
    check "without Postfix, %post leaves /var/spool/postfix alone" test ! -e "$r/var/spool/postfix"
    sockdir_ok() { # sockdir_ok WHAT: /var/spool/postfix/forcetls is forcetls:postfix 2750
        got=$(inroot stat -c '%U:%G %a' /var/spool/postfix/forcetls 2>&1 || :)
        if [ "$got" = "forcetls:postfix 2750" ]; then
            ok "$1 /var/spool/postfix/forcetls forcetls:postfix 2750"
        else
            not_ok "$1 /var/spool/postfix/forcetls forcetls:postfix 2750 (got: $got)"
        fi
    }
    # Postfix arrives after forcetls: its group, its queue directory and an
    # empty stand-in package named postfix (for %triggerin).
    cat >"$work/postfix.spec" <<'SPEC'
Name: postfix
Version: 0
Release: 0
Summary: Stand-in for Postfix in tests/package/rpm.sh
License: BSD-2-Clause
BuildArch: noarch
%description
Stand-in for Postfix in tests/package/rpm.sh: no files.
%files
SPEC
    # (Setup steps that fail show as failed checks below, not as an abort.)
    rpmbuild --define "_topdir $work/top" -bb "$work/postfix.spec" >>"$work/rpm-root.log" 2>&1 || :
    inroot groupadd -r postfix || :
    mkdir -p "$r/var/spool/postfix"
    rpmr -i --nodeps "$work/top/RPMS/noarch/postfix-0-0.noarch.rpm" || :
    sockdir_ok "Postfix installed after forcetls: %triggerin made"
    echo '# edited by the administrator' >>"$r/etc/forcetls/forcetls.conf"
    kept() {
        rpmr -U --replacepkgs --nodeps "$rpmfile" &&
            tail -n 1 "$r/etc/forcetls/forcetls.conf" | grep -q '^# edited by the administrator$'
    }
    check "rpm -U keeps the administrator's /etc/forcetls/forcetls.conf" kept
    erased() {
        rpmr -e forcetls && [ ! -e "$r/usr/sbin/forcetls-milter" ] &&
            [ ! -e "$r/usr/lib/systemd/system/forcetls-milter.service" ] &&
            [ -f "$r/etc/forcetls/forcetls.conf.rpmsave" ] && inroot getent passwd forcetls >/dev/null
    }
    check "rpm -e removes the files, keeps the edited file as .rpmsave and the user" erased
    # A Postfix that rpm does not know (no trigger): %post alone.
    rpmr -e postfix || :
    rm -rf "$r/var/spool/postfix/forcetls"
    rpmr -i --nodeps "$rpmfile" || :
    sockdir_ok "/var/spool/postfix present at install: %post made"
fi

# --- rpmlint ------------------------------------------------------------------
if command -v rpmlint >/dev/null 2>&1; then
    # rpmlint 2 exits 64 when it reports errors (also the accepted ones
    # below) and 66 over the badness threshold; anything else but 0, or no
    # summary line (" N packages and M specfiles checked; ..."), is a crash.
    lint_rc=0
    rpmlint "$spec" "$rpmfile" >"$work/rpmlint.txt" 2>&1 || lint_rc=$?
    diag <"$work/rpmlint.txt"
    if { [ "$lint_rc" = 0 ] || [ "$lint_rc" = 64 ] || [ "$lint_rc" = 66 ]; } &&
        grep -Eq '^ *[0-9]+ packages? and [0-9]+ specfiles? checked' "$work/rpmlint.txt"; then
        ok "rpmlint ran to its summary (exit $lint_rc)"
    else
        not_ok "rpmlint ran to its summary (exit $lint_rc, no summary line or a crash)"
    fi
    # Errors only Debian's rpmlint configuration gives: Fedora's guidelines
    # forbid the Packager and Group tags (its rpmlint does not ask for them),
    # and a test build is never signed (the distributor signs).
    grep ': E: ' "$work/rpmlint.txt" | grep -v -e ': E: no-signature$' \
        -e ': E: no-packager-tag$' -e ': E: no-group-tag$' >"$work/rpmlint-errors" || :
    if [ -s "$work/rpmlint-errors" ]; then
        diag <"$work/rpmlint-errors"
        not_ok "rpmlint: no errors (but for no-signature, no-packager-tag, no-group-tag)"
    else
        ok "rpmlint: no errors (but for no-signature, no-packager-tag, no-group-tag)"
    fi
else
    n=$((n + 1))
    echo "ok $n - rpmlint # SKIP rpmlint not installed (Debian: apt-get install rpmlint)"
fi

if [ -n "${RPM_OUTDIR:-}" ]; then
    mkdir -p "$RPM_OUTDIR"
    cp "$rpmfile" "$work/rpmbuild.log" "$RPM_OUTDIR/"
    [ -f "$work/rpmlint.txt" ] && cp "$work/rpmlint.txt" "$RPM_OUTDIR/rpmlint-output.txt"
fi
echo "1..$n"
[ "$failed" -eq 0 ]
