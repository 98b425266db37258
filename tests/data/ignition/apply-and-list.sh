# Apply an Ignition config into a fresh root as Fedora CoreOS's initramfs does (stage fetch-offline,
# then stage files), then print between marker lines what Ignition wrote there.
#
# One producer for both readers of its manifest: the tiny e2e guest's /init runs it under busybox sh
# with `-platform qemu` (the config comes through fw_cfg), and the host-side twin
# (tests/tests/ignition_apply.rs) runs it under the host's sh with `-platform file`. The manifest's
# format is what fleet_tests::ignition_manifest parses; keep both in step.
#
# usage: sh apply-and-list.sh PLATFORM ROOT RUN
#   PLATFORM  qemu, or file (with IGNITION_CONFIG_FILE naming the config)
#   ROOT      an empty directory, every directory above it searchable by anyone: Ignition writes the
#             new users' authorized_keys as those users
#   RUN       an empty directory outside ROOT for Ignition's state and this script's lists
# environment: IGNITION, the Ignition binary (default: `ignition` on PATH)
#
# Written for POSIX sh and busybox: no bashisms, no GNU-only options.

set -u

platform=$1
root=$2
run=$3
ignition=${IGNITION:-ignition}
begin=FLEET-IGNITION-BEGIN
end=FLEET-IGNITION-END
tab=$(printf '\t')

# A manifest holding only this error, for what goes wrong before Ignition runs.
refuse() {
    echo "$begin"
    printf 'error\tsetup\t%s\n' "$1"
    echo "$end"
    exit 1
}

[ -d "$root" ] || refuse "$root is not a directory"
[ -d "$run" ] || refuse "$run is not a directory"
# Ignition never overwrites what it finds: only an empty root shows exactly what it wrote.
[ -z "$(ls -A "$root")" ] || refuse "$root is not empty: apply into a fresh root"
[ -z "$(ls -A "$run")" ] || refuse "$run is not empty"

# What Fedora CoreOS has before Ignition's files stage, as far as Ignition looks: the accounts and
# groups (core is in wheel, adm, sudo and systemd-journal; users and docker exist), the shadow tools'
# settings, SELinux named but disabled (Ignition relabels what it wrote when SELINUXTYPE is set), and
# /home as a link into /var. Mail spools are off: useradd would otherwise need /var/spool/mail.
seed_root() {
    mkdir -p "$root/etc/default" "$root/etc/selinux" "$root/var/home/core" || return 1
    ln -s var/home "$root/home" || return 1
    cat > "$root/etc/passwd" <<'ACCOUNTS'
root:x:0:0:root:/root:/bin/bash
core:x:1000:1000:CoreOS Admin:/var/home/core:/bin/bash
ACCOUNTS
    cat > "$root/etc/shadow" <<'ACCOUNTS'
root:*:19000:0:99999:7:::
core:*:19000:0:99999:7:::
ACCOUNTS
    cat > "$root/etc/group" <<'ACCOUNTS'
root:x:0:
adm:x:4:core
wheel:x:10:core
sudo:x:16:core
users:x:100:
systemd-journal:x:190:core
docker:x:981:
core:x:1000:
ACCOUNTS
    cat > "$root/etc/gshadow" <<'ACCOUNTS'
root:::
adm:::core
wheel:::core
sudo:::core
users:::
systemd-journal:::core
docker:::
core:::
ACCOUNTS
    cat > "$root/etc/login.defs" <<'SETTINGS'
MAIL_DIR /var/spool/mail
UMASK 022
HOME_MODE 0700
PASS_MAX_DAYS 99999
PASS_MIN_DAYS 0
PASS_WARN_AGE 7
UID_MIN 1000
UID_MAX 60000
SYS_UID_MIN 201
SYS_UID_MAX 999
GID_MIN 1000
GID_MAX 60000
SYS_GID_MIN 201
SYS_GID_MAX 999
CREATE_HOME yes
USERGROUPS_ENAB yes
ENCRYPT_METHOD YESCRYPT
SETTINGS
    cat > "$root/etc/default/useradd" <<'SETTINGS'
GROUP=100
HOME=/home
INACTIVE=-1
EXPIRE=
SHELL=/bin/bash
SKEL=/etc/skel
CREATE_MAIL_SPOOL=no
SETTINGS
    printf 'SELINUX=disabled\nSELINUXTYPE=targeted\n' > "$root/etc/selinux/config"
    chmod 0000 "$root/etc/shadow" "$root/etc/gshadow"
    chmod 0700 "$root/var/home/core"
    chown 1000:1000 "$root/var/home/core"
}

# Every entry under ROOT, one line each, sorted by path: KIND, PATH, then key=value fields. One stat
# and one sha256sum for the whole tree: a fork costs milliseconds under TCG.
list_tree() {
    # Hashes and link targets before the pipeline below starts: its awk reads them first. Names come
    # from the config: they reach commands only as arguments, never as shell code.
    (cd "$root" && find . ! -path . -type f -exec sha256sum {} +) > "$run/hashes" || return 1
    (cd "$root" && find . ! -path . -type l -exec sh -c 'printf "%s\t%s\n" "$1" "$(readlink "$1")"' link {} \;) \
        > "$run/links" || return 1
    (cd "$root" && find . ! -path . -exec stat -c '%f %a %u:%g %s %n' {} +) | awk -v hashes="$run/hashes" -v links="$run/links" '
        function hex(digits,    value, i) {
            value = 0
            for (i = 1; i <= length(digits); i++)
                value = value * 16 + index("0123456789abcdef", substr(digits, i, 1)) - 1
            return value
        }
        BEGIN {
            # `HASH  ./PATH` and `./PATH<tab>TARGET`
            while ((getline line < hashes) > 0) sha256[substr(line, 67)] = substr(line, 1, 64)
            while ((getline line < links) > 0) {
                split_at = index(line, "\t")
                target[substr(line, 1, split_at - 1)] = substr(line, split_at + 1)
            }
        }
        {
            # `RAWMODE PERMISSIONS OWNER SIZE ./PATH`, the path last as it may hold spaces.
            name = $0
            for (field = 1; field <= 4; field++) sub(/^[^ ]* /, "", name)
            path = substr(name, 2)
            kind = int(hex($1) / 4096)
            mode = sprintf("%04d", $2)
            if (kind == 10) {
                printf "link\t%s\towner=%s\ttarget=%s\n", path, $3, target[name]
            } else if (kind == 4) {
                printf "dir\t%s\tmode=%s\towner=%s\n", path, mode, $3
            } else if (kind == 8) {
                printf "file\t%s\tmode=%s\towner=%s\tsize=%s\tsha256=%s\n", path, mode, $3, $4, sha256[name]
            } else {
                printf "other\t%s\tmode=%s\towner=%s\n", path, mode, $3
            }
        }
    ' | LC_ALL=C sort -t "$tab" -k 2,2
}

# Users (with their supplementary groups and a digest of their password field) and groups. Password
# hashes never leave the root: a locked or empty field is shown as it is, anything else as its sha256.
list_accounts() {
    while IFS=: read -r name _ uid gid gecos home shell; do
        password=$(awk -F: -v user="$name" '$1 == user { print $2 }' "$root/etc/shadow")
        case $password in
            '' | '*' | '!' | '!!' | '!*') shown=$password ;;
            *) shown=sha256:$(printf '%s' "$password" | sha256sum | cut -c 1-64) ;;
        esac
        groups=$(awk -F: -v user="$name" '{ n = split($4, members, ","); for (i = 1; i <= n; i++) if (members[i] == user) print $1 }' "$root/etc/group" | LC_ALL=C sort | tr '\n' ',')
        printf 'user\t%s\tuid=%s\tgid=%s\tgecos=%s\thome=%s\tshell=%s\tgroups=%s\tpassword=%s\n' \
            "$name" "$uid" "$gid" "$gecos" "$home" "$shell" "${groups%,}" "$shown"
    done < "$root/etc/passwd"
    while IFS=: read -r name _ gid _; do
        printf 'group\t%s\tgid=%s\n' "$name" "$gid"
    done < "$root/etc/group"
}

# Ignition's log on stdout, password hashes and inline contents masked (a failing stage prints the
# whole config); the exit status and a copy of the log are kept in RUN for the manifest.
run_stage() {
    stage=$1
    {
        IGNITION_SYSTEM_CONFIG_DIR=$run/system-config "$ignition" -platform "$platform" -stage "$stage" \
            -root "$root" -log-to-stdout -config-cache "$run/ignition.json" \
            -state-file "$run/state" -neednet "$run/neednet" 2>&1
        echo $? > "$run/$stage.status"
    } | sed -e 's/"passwordHash": *"[^"]*"/"passwordHash": "(masked)"/g' \
            -e 's/"--password" "[^"]*"/"--password" "(masked)"/g' \
            -e 's/"source": *"data:[^"]*"/"source": "data:(masked)"/g' \
        | tee "$run/$stage.log"
    read -r status < "$run/$stage.status"
    return "$status"
}

mkdir -p "$run/bin" "$run/system-config" || refuse "cannot prepare $run"
# No SELinux here: Ignition's relabeling calls setfiles with the paths on stdin.
printf '#!/bin/sh\ncat > /dev/null\n' > "$run/bin/setfiles"
chmod 0755 "$run/bin/setfiles"
PATH=$run/bin:$PATH:/usr/sbin:/sbin
export PATH

seed_root || refuse "cannot seed $root"
list_tree > "$run/seed.tree"
list_accounts > "$run/seed.accounts"

fetch_status=skipped
files_status=skipped
if run_stage fetch-offline; then
    fetch_status=0
    if run_stage files; then files_status=0; else files_status=$status; fi
else
    fetch_status=$status
fi

list_tree > "$run/after.tree"

echo "$begin"
printf 'stage\tfetch-offline\texit=%s\n' "$fetch_status"
printf 'stage\tfiles\texit=%s\n' "$files_status"
sed "s/^/seed$tab/" "$run/seed.tree" "$run/seed.accounts"
# Entries that are new or differ from the seed, and seed entries that are gone.
awk -F "$tab" '
    FNR == NR { seed[$2] = $0; next }
    { seen[$2] = 1; if (seed[$2] != $0) print "wrote\t" $0 }
    END { for (path in seed) if (!(path in seen)) print "removed\t" path | "LC_ALL=C sort" }
' "$run/seed.tree" "$run/after.tree"
list_accounts | sed "s/^/now$tab/"
for preset in "$root"/etc/systemd/system-preset/*.preset; do
    [ -f "$preset" ] || continue
    while IFS= read -r line; do
        printf 'preset\t%s\t%s\n' "${preset#"$root"}" "$line"
    done < "$preset"
done
for stage in fetch-offline files; do
    [ -f "$run/$stage.log" ] && grep '^CRITICAL' "$run/$stage.log" | sed "s/^/error$tab$stage$tab/"
done
echo "$end"
[ "$files_status" = 0 ]
