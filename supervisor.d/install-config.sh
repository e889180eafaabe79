#!/bin/sh
# Installs a supervisord config snippet (readiness_listener.conf) into
# $DESTDIR where the target's stock supervisord.conf includes it, so a first
# `make install` registers the listener with no edit of supervisord.conf.
#
#   install-config.sh SNIPPET
#
# Environment (all optional):
#   DESTDIR                  the root file system to install into
#   SUPERVISORD_CONF         supervisord.conf inside DESTDIR (default: detected)
#   SUPERVISOR_INCLUDE_DIR   install here instead of detecting (inside DESTDIR)
#   SUPERVISOR_INCLUDE_EXT   with SUPERVISOR_INCLUDE_DIR: the extension (default conf)
#
# What the stock configs include (checked in the packages' sources):
#   Debian/Ubuntu  /etc/supervisor/supervisord.conf  files = /etc/supervisor/conf.d/*.conf
#                  (supervisor_4.2.5-1 in bookworm; `make e2e` runs it)
#   Alpine         /etc/supervisord.conf             files = /etc/supervisor.d/*.ini
#                  (alpinelinux/aports main/supervisor/supervisord.conf; the
#                  APKBUILD does not create the directory)
#   EPEL/Fedora    /etc/supervisord.conf             files = supervisord.d/*.ini
#                  (relative to the file: /etc/supervisord.d)
#   pip            echo_supervisord_conf writes ;[include] commented out
#                  (Supervisor/supervisor supervisor/skel/sample.conf): no drop-in
#                  directory until the user enables one.
# supervisord's parser (supervisor/options.py): `files` holds globs separated
# by white space, continued on indented lines; a relative glob is relative to
# the including file's directory; `%(here)s` is that directory.
set -euf  # -f: the globs are words here, never expanded against this machine

snippet=${1:?usage: install-config.sh SNIPPET}
destdir=${DESTDIR:-}
name=$(basename "$snippet")
name=${name%.*}

fail() {
    printf 'install-config.sh: %s\n' "$1" >&2
    printf '%s\n' \
        "Nothing was installed. Either name the directory supervisord includes:" \
        "  make install DESTDIR=$destdir SUPERVISOR_INCLUDE_DIR=/etc/supervisor/conf.d SUPERVISOR_INCLUDE_EXT=conf" \
        "or add an [include] section to supervisord.conf, for example:" \
        "  [include]" \
        "  files = /etc/supervisor.d/*.conf" \
        "or point at the config supervisord reads: make install SUPERVISORD_CONF=/etc/supervisord.conf" >&2
    exit 1
}

install_into() { # DIR EXT
    mkdir -p "$destdir$1"
    install -m 0644 "$snippet" "$destdir$1/$name.$2"
    printf 'installed %s\n' "$destdir$1/$name.$2"
}

if [ -n "${SUPERVISOR_INCLUDE_DIR:-}" ]; then
    install_into "$SUPERVISOR_INCLUDE_DIR" "${SUPERVISOR_INCLUDE_EXT:-conf}"
    exit 0
fi

# The stock locations; supervisord itself looks at /etc/supervisord.conf first
# and /etc/supervisor/supervisord.conf last, but an image has one of them.
conf=${SUPERVISORD_CONF:-}
if [ -z "$conf" ]; then
    for candidate in /etc/supervisor/supervisord.conf /etc/supervisord.conf; do
        [ -f "$destdir$candidate" ] || continue
        [ -z "$conf" ] || fail "both $destdir$conf and $destdir$candidate exist: which one supervisord reads cannot be told."
        conf=$candidate
    done
    [ -n "$conf" ] || fail "no supervisord.conf in $destdir/etc/supervisor/ or $destdir/etc/ (install supervisor into the root file system first)."
fi
[ -f "$destdir$conf" ] || fail "$destdir$conf does not exist."
here=$(dirname "$conf")

# The `files` value of [include]: sections and keys as ConfigParser reads them
# (`=` or `:`, indented continuation lines, `;` comments after white space).
globs=$(awk '
    /^\[/ { section = $0; sub(/[ \t]*$/, "", section); infiles = 0; next }
    section != "[include]" { next }
    /^[ \t]*[;#]/ { next }
    /^[ \t]/ && infiles { sub(/[ \t];.*/, ""); print; next }
    /^files[ \t]*[=:]/ { sub(/^files[ \t]*[=:]/, ""); sub(/[ \t];.*/, ""); print; infiles = 1; next }
    { infiles = 0 }
' "$destdir$conf")
[ -n "$(printf '%s' "$globs" | tr -d ' \t\n')" ] ||
    fail "$destdir$conf has no [include] files = ... line (commented out, as echo_supervisord_conf writes it?)."

# The first glob of the form DIR/*.EXT with no other wildcard takes the file.
for glob in $(printf '%s\n' "$globs" | sed "s|%(here)s|$here|g"); do
    dir=${glob%/*}
    pattern=${glob##*/}
    ext=${pattern#\*.}
    [ "$dir" != "$glob" ] && [ "$pattern" = "*.$ext" ] || continue
    case "$dir$ext" in *[*?[]*) continue ;; esac
    case "$dir" in /*) ;; *) dir=$here/$dir ;; esac
    install_into "$dir" "$ext"
    exit 0
done
# Unquoted on purpose in the message: the globs as written.
fail "no glob of the form DIR/*.EXT in the [include] files of $destdir$conf ($(printf '%s ' $globs | sed 's/ $//'))."
