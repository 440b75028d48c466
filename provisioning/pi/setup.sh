#!/usr/bin/env bash
# Turn a fresh Raspberry Pi OS Lite (bookworm, 64-bit) or Debian 12 into a locked-down Frontdesk
# check-in kiosk. Run as root; safe to run again: each step looks first and changes only what
# is not yet as it should be, so a second run changes nothing ("0 changes").
#
# It also runs in a chroot (building an SD card image): there, with no systemd running, units
# are enabled and masked offline, nothing is started, and package scripts cannot start daemons.
# Steps that need the Pi's boot partition (/boot/firmware) run only where it is.
#
# The files it installs sit beside it in provisioning/ (systemd/, udev/, config/): it works from a
# checkout of the repository or from the frontdesk wheel, which carries them.
set -euo pipefail

usage() {
  cat <<'EOF'
Usage: sudo bash provisioning/pi/setup.sh (--wheel PATH | --package SPEC) [options]

Where the app comes from (one of):
  --wheel PATH         a frontdesk wheel (pip wheel --no-deps); its dependencies come from
                       --index-url, else PyPI
  --package SPEC       a frontdesk release from the package index, e.g. 'frontdesk==0.1.0'
                       (pin the version: a new SPEC is what makes a later run upgrade)
Options:
  --index-url URL      the clinic's package index (pip --index-url)
  --constraints FILE   pin dependency versions (the repository's constraints.txt)
  --extras LIST        extras to install (default: kiosk,hardware,provisioning)
  --timezone ZONE      e.g. America/Chicago: the nightly update and reboot window is local time
  -h, --help           this text
EOF
}

die() { printf 'frontdesk-setup: error: %s\n' "$*" >&2; exit 1; }
say() { printf 'frontdesk-setup: %s\n' "$*"; }
warn() { printf 'frontdesk-setup: WARNING: %s\n' "$*" >&2; }
CHANGES=0
changed() { CHANGES=$((CHANGES + 1)); printf 'frontdesk-setup: changed: %s\n' "$*"; }
booted() { [[ -d /run/systemd/system ]]; }  # systemd is running: not a chroot or an image build

WHEEL="" PACKAGE="" INDEX_URL="" CONSTRAINTS="" TIMEZONE=""
EXTRAS="kiosk,hardware,provisioning"
while [[ $# -gt 0 ]]; do
  case "$1" in
    --wheel) WHEEL="${2:?--wheel needs a path}"; shift 2 ;;
    --package) PACKAGE="${2:?--package needs a requirement, e.g. frontdesk==0.1.0}"; shift 2 ;;
    --index-url) INDEX_URL="${2:?--index-url needs a URL}"; shift 2 ;;
    --constraints) CONSTRAINTS="${2:?--constraints needs a file}"; shift 2 ;;
    --extras) EXTRAS="${2:?--extras needs a list}"; shift 2 ;;
    --timezone) TIMEZONE="${2:?--timezone needs a zone, e.g. America/Chicago}"; shift 2 ;;
    -h | --help) usage; exit 0 ;;
    *) usage >&2; die "unknown option: $1" ;;
  esac
done

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
SRC="$(cd "$HERE/.." && pwd)"  # provisioning/
APP_DIR=/opt/frontdesk
VENV="$APP_DIR/venv"
ETC_DIR=/etc/frontdesk
VAR_DIR=/var/lib/frontdesk
KIOSK_USER=kiosk
KIOSK_GROUPS=(video dialout input render)
UNIT=frontdesk-kiosk.service

# --- Checks before anything changes (the options first: they need no root to be told) ------
if [[ -n $WHEEL && -n $PACKAGE ]] || [[ -z $WHEEL && -z $PACKAGE ]]; then
  usage >&2
  die "say where the app comes from: --wheel PATH or --package SPEC (one of them)"
fi
if [[ -n $WHEEL ]]; then
  [[ -f $WHEEL ]] || die "no such wheel: $WHEEL"
  [[ $WHEEL == *.whl ]] || die "not a wheel (a .whl file): $WHEEL"
  WHEEL="$(cd "$(dirname "$WHEEL")" && pwd)/$(basename "$WHEEL")"
fi
if [[ -n $CONSTRAINTS ]]; then
  [[ -f $CONSTRAINTS ]] || die "no such constraints file: $CONSTRAINTS"
  CONSTRAINTS="$(cd "$(dirname "$CONSTRAINTS")" && pwd)/$(basename "$CONSTRAINTS")"
fi
if [[ -n $TIMEZONE && ! -f /usr/share/zoneinfo/$TIMEZONE ]]; then
  die "unknown time zone: $TIMEZONE (see /usr/share/zoneinfo)"
fi
for f in systemd/$UNIT udev/99-frontdesk.rules config/apt/52frontdesk-unattended-upgrades; do
  [[ -f $SRC/$f ]] || die "missing $SRC/$f: run setup.sh from provisioning/pi/ of a checkout or wheel"
done
[[ $(id -u) -eq 0 ]] || die "run as root (sudo bash $0 …)"
[[ -f /etc/debian_version ]] || die "this is for Raspberry Pi OS or Debian (no /etc/debian_version)"
if ! booted; then
  say "systemd is not running here (a chroot or image build): enabling units offline, starting nothing"
fi

# Package scripts must not start daemons inside a chroot (they would run on the build machine).
# Debian's way is a policy-rc.d that says no; ours goes again when the script ends.
POLICY_RC=/usr/sbin/policy-rc.d
OUR_POLICY_RC=0
cleanup() {
  if [[ $OUR_POLICY_RC -eq 1 ]]; then rm -f "$POLICY_RC"; fi
}
trap cleanup EXIT
if ! booted && [[ ! -e $POLICY_RC ]]; then
  printf '#!/bin/sh\n# frontdesk setup.sh, for the length of its run in a chroot\nexit 101\n' > "$POLICY_RC"
  chmod 0755 "$POLICY_RC"
  OUR_POLICY_RC=1
fi

# install_file SRC DEST MODE: copy when the content or mode differs (owner root:root).
install_file() {
  local src="$1" dest="$2" mode="$3"
  if [[ -f $dest ]] && cmp -s "$src" "$dest" \
     && [[ $(stat -c '%a %U %G' "$dest") == "${mode#0} root root" ]]; then
    return 1
  fi
  install -D -m "$mode" -o root -g root "$src" "$dest"
  changed "$dest"
}

# --- 1. Debian packages ---------------------------------------------------------------------
PACKAGES=(
  systemd udev kmod ca-certificates systemd-timesyncd
  python3 python3-venv                       # the app's venv (Python 3.11 on bookworm)
  tesseract-ocr tesseract-ocr-eng libzbar0   # reading insurance cards and barcodes
  cage seatd xwayland                        # the fullscreen kiosk compositor and its seat
  libgl1 libegl1 libgles2 libgl1-mesa-dri libmtdev1   # OpenGL for Kivy, multitouch
  fonts-dejavu-core fonts-liberation2
  unattended-upgrades
  openssh-server
)
missing=()
for pkg in "${PACKAGES[@]}"; do
  if [[ $(dpkg-query -W -f='${db:Status-Status}' "$pkg" 2>/dev/null || true) != installed ]]; then
    missing+=("$pkg")
  fi
done
export DEBIAN_FRONTEND=noninteractive
if [[ ${#missing[@]} -gt 0 ]]; then
  # The lists from the SD card image are months old; those of the last hour are good enough.
  if [[ -z $(find /var/lib/apt/lists -maxdepth 1 -name '*_Packages*' -mmin -60 -print -quit) ]]; then
    say "refreshing the package lists"
    apt-get update -q
  fi
  say "installing: ${missing[*]}"
  apt-get install -y -q --no-install-recommends "${missing[@]}"
  changed "packages installed: ${missing[*]}"
fi
# udisks2 mounts USB sticks by itself on desktops; a kiosk has no use for it.
if [[ $(dpkg-query -W -f='${db:Status-Status}' udisks2 2>/dev/null || true) == installed ]]; then
  apt-get purge -y -q udisks2
  changed "udisks2 removed"
fi

# --- 2. Time zone (optional) ----------------------------------------------------------------
if [[ -n $TIMEZONE ]] && [[ $(readlink /etc/localtime || true) != "/usr/share/zoneinfo/$TIMEZONE" ]]; then
  ln -sfn "/usr/share/zoneinfo/$TIMEZONE" /etc/localtime
  echo "$TIMEZONE" > /etc/timezone
  changed "time zone $TIMEZONE"
fi

# --- 3. The kiosk user: a system account that never logs in ---------------------------------
for group in "${KIOSK_GROUPS[@]}"; do
  if ! getent group "$group" >/dev/null; then
    groupadd --system "$group"
    changed "group $group"
  fi
done
if ! getent passwd "$KIOSK_USER" >/dev/null; then
  useradd --system --user-group --home-dir "$VAR_DIR" --no-create-home \
    --shell /usr/sbin/nologin --comment "Frontdesk kiosk" "$KIOSK_USER"
  changed "user $KIOSK_USER"
fi
if [[ $(getent passwd "$KIOSK_USER" | cut -d: -f6,7) != "$VAR_DIR:/usr/sbin/nologin" ]]; then
  usermod --home "$VAR_DIR" --shell /usr/sbin/nologin "$KIOSK_USER"
  changed "user $KIOSK_USER: home $VAR_DIR, no login shell"
fi
# Exactly these supplementary groups: never sudo, adm or anything a previous image gave it.
want_groups="$(printf '%s\n' "${KIOSK_GROUPS[@]}" | sort | paste -sd,)"
have_groups="$(id -nG "$KIOSK_USER" | tr ' ' '\n' | grep -vx "$KIOSK_USER" | sort | paste -sd, || true)"
if [[ $have_groups != "$want_groups" ]]; then
  usermod --groups "$want_groups" "$KIOSK_USER"
  changed "user $KIOSK_USER: groups $want_groups"
fi
if [[ $(passwd --status "$KIOSK_USER" | cut -d' ' -f2) != L ]]; then
  passwd --lock "$KIOSK_USER" >/dev/null
  changed "user $KIOSK_USER: password locked"
fi
if [[ -e /etc/sudoers.d/$KIOSK_USER ]]; then
  rm -f "/etc/sudoers.d/$KIOSK_USER"
  changed "removed /etc/sudoers.d/$KIOSK_USER"
fi

# --- 4. Directories -------------------------------------------------------------------------
# ensure_dir PATH OWNER:GROUP MODE
ensure_dir() {
  local path="$1" owner="$2" mode="$3"
  if [[ ! -d $path ]]; then
    install -d -o "${owner%:*}" -g "${owner#*:}" -m "$mode" "$path"
    changed "$path"
  elif [[ $(stat -c '%U:%G %a' "$path") != "$owner ${mode#0}" ]]; then
    chown "$owner" "$path"
    chmod "$mode" "$path"
    changed "$path: $owner $mode"
  fi
}
ensure_dir "$ETC_DIR" "root:$KIOSK_USER" 0750   # kiosk.toml, written at enrolment
ensure_dir "$VAR_DIR" "$KIOSK_USER:$KIOSK_USER" 0750  # outbox, credential, Kivy's files
ensure_dir "$APP_DIR" root:root 0755

# --- 5. The app in its own venv ---------------------------------------------------------------
if [[ -n $WHEEL ]]; then
  source_id="wheel $(sha256sum "$WHEEL" | cut -d' ' -f1)"
else
  # frontdesk==1.2 → frontdesk[kiosk,hardware,provisioning]==1.2, unless extras are given
  name="${PACKAGE%%[<>=!~ ;@\[]*}"
  rest="${PACKAGE#"$name"}"
  if [[ $rest == \[* ]]; then requirement="$PACKAGE"; else requirement="${name}[${EXTRAS}]${rest}"; fi
  source_id="package $requirement"
fi
constraints_id=""
[[ -n $CONSTRAINTS ]] && constraints_id="$(sha256sum "$CONSTRAINTS" | cut -d' ' -f1)"
stamp="$(printf '%s\n' "$source_id" "extras $EXTRAS" "index $INDEX_URL" \
  "constraints $constraints_id" "$(python3 --version)" | sha256sum | cut -d' ' -f1)"
stamp_file="$APP_DIR/.installed"
if [[ -x $VENV/bin/python ]] && ! "$VENV/bin/python" -c 'import sys' 2>/dev/null; then
  say "the venv no longer runs (Python was upgraded?): making it again"
  rm -rf "$VENV" "$stamp_file"
fi
if [[ ! -x $VENV/bin/python ]]; then
  python3 -m venv "$VENV"
  changed "$VENV"
fi
if [[ "$(cat "$stamp_file" 2>/dev/null || true)" != "$stamp" ]] || [[ ! -x $VENV/bin/frontdesk ]]; then
  # Only what the options say: no /etc/pip.conf (Raspberry Pi OS adds piwheels there).
  pip=(env PIP_CONFIG_FILE=/dev/null "$VENV/bin/python" -m pip --disable-pip-version-check --no-input install --progress-bar off
       --only-binary=:all:)
  [[ -n $INDEX_URL ]] && pip+=(--index-url "$INDEX_URL")
  [[ -n $CONSTRAINTS ]] && pip+=(--constraint "$CONSTRAINTS")
  if [[ -n $WHEEL ]]; then
    say "installing $(basename "$WHEEL") [$EXTRAS] and its dependencies"
    "${pip[@]}" "${WHEEL}[${EXTRAS}]"
    # The same version number may be a new build: put exactly this wheel in place.
    "${pip[@]}" --no-deps --force-reinstall "$WHEEL"
  else
    say "installing $requirement"
    "${pip[@]}" --upgrade "$requirement"
  fi
  "$VENV/bin/frontdesk" --help >/dev/null || die "the installed frontdesk command does not run"
  echo "$stamp" > "$stamp_file"
  changed "frontdesk installed in $VENV ($source_id)"
fi
# `sudo frontdesk …` finds it (sudo's secure_path has /usr/local/bin).
if [[ $(readlink /usr/local/bin/frontdesk || true) != "$VENV/bin/frontdesk" ]]; then
  ln -sfn "$VENV/bin/frontdesk" /usr/local/bin/frontdesk
  changed "/usr/local/bin/frontdesk"
fi

# --- 6. Configuration files -------------------------------------------------------------------
UNIT_CHANGED=0 UDEV_CHANGED=0 SYSCTL_CHANGED=0 SSH_CHANGED=0 MODPROBE_CHANGED=0
install_file "$SRC/systemd/$UNIT" "/etc/systemd/system/$UNIT" 0644 && UNIT_CHANGED=1
install_file "$SRC/systemd/apt-daily-upgrade.timer.d/50-frontdesk-night.conf" \
  /etc/systemd/system/apt-daily-upgrade.timer.d/50-frontdesk-night.conf 0644 && UNIT_CHANGED=1
install_file "$SRC/systemd/logind.conf.d/50-frontdesk.conf" \
  /etc/systemd/logind.conf.d/50-frontdesk.conf 0644 || true
install_file "$SRC/systemd/system.conf.d/50-frontdesk.conf" \
  /etc/systemd/system.conf.d/50-frontdesk.conf 0644 || true
install_file "$SRC/udev/99-frontdesk.rules" /etc/udev/rules.d/99-frontdesk.rules 0644 && UDEV_CHANGED=1
install_file "$SRC/config/apt/20auto-upgrades" /etc/apt/apt.conf.d/20auto-upgrades 0644 || true
install_file "$SRC/config/apt/52frontdesk-unattended-upgrades" \
  /etc/apt/apt.conf.d/52frontdesk-unattended-upgrades 0644 || true
install_file "$SRC/config/sysctl/90-frontdesk.conf" /etc/sysctl.d/90-frontdesk.conf 0644 \
  && SYSCTL_CHANGED=1
install_file "$SRC/config/ssh/10-frontdesk.conf" /etc/ssh/sshd_config.d/10-frontdesk.conf 0644 \
  && SSH_CHANGED=1

# USB storage off, unless this Pi boots from a USB drive (it would no longer find its root).
root_source="$(findmnt -n -o SOURCE / 2>/dev/null || true)"
modprobe_conf=/etc/modprobe.d/frontdesk-no-usb-storage.conf
if [[ $root_source == /dev/sd* ]]; then
  warn "the root file system is on $root_source (a USB drive): USB storage stays enabled"
  if [[ -e $modprobe_conf ]]; then rm -f "$modprobe_conf"; changed "$modprobe_conf removed"; fi
else
  install_file "$SRC/config/modprobe/frontdesk-no-usb-storage.conf" "$modprobe_conf" 0644 \
    && MODPROBE_CHANGED=1
fi

# --- 7. Units: the kiosk at boot; no login prompt, Ctrl-Alt-Del or automounter ----------------
# ensure_unit enable|mask UNIT
ensure_unit() {
  local action="$1" unit="$2" state
  state="$(systemctl is-enabled "$unit" 2>/dev/null || true)"
  case "$action" in
    enable) [[ $state == enabled ]] && return 0 ;;
    mask) [[ $state == masked ]] && return 0 ;;
  esac
  systemctl "$action" --quiet "$unit"
  changed "$unit ${action}ed"
}
ensure_unit enable "$UNIT"          # waits for /etc/frontdesk/kiosk.toml (ConditionPathExists)
ensure_unit enable seatd.service
ensure_unit enable ssh.service
ensure_unit enable unattended-upgrades.service
ensure_unit enable systemd-timesyncd.service
ensure_unit mask getty@tty1.service
ensure_unit mask autovt@tty1.service
ensure_unit mask ctrl-alt-del.target
ensure_unit mask udisks2.service

# --- 8. The Pi's boot files (only on a Pi) ----------------------------------------------------
CMDLINE=/boot/firmware/cmdline.txt
CONFIG_TXT=/boot/firmware/config.txt
if [[ -f $CMDLINE ]]; then
  # Kernel messages on tty3 (not the screen), quiet, no logos or blinking cursor; no serial
  # console (its login prompt, and the kernel's chatter if a printer sits on the GPIO UART).
  read -r -a words < "$CMDLINE"
  new=()
  for w in "${words[@]}"; do
    case "$w" in
      console=serial0,* | console=ttyAMA0,* | console=ttyS0,*) ;;
      console=tty1) new+=("console=tty3") ;;
      *) new+=("$w") ;;
    esac
  done
  for w in quiet loglevel=3 logo.nologo vt.global_cursor_default=0; do
    [[ " ${new[*]} " == *" $w "* ]] || new+=("$w")
  done
  if [[ "${new[*]}" != "${words[*]}" ]]; then
    [[ -e $CMDLINE.frontdesk-orig ]] || cp -p "$CMDLINE" "$CMDLINE.frontdesk-orig"
    printf '%s\n' "${new[*]}" > "$CMDLINE"
    changed "$CMDLINE"
  fi
fi
if [[ -f $CONFIG_TXT ]] && ! grep -qx 'disable_splash=1' "$CONFIG_TXT"; then
  printf '\n[all]\n# Frontdesk kiosk: no rainbow square at power-on\ndisable_splash=1\n' >> "$CONFIG_TXT"
  changed "$CONFIG_TXT"
fi

# --- 9. Apply now where the system is running (a chroot gets it all at first boot) ------------
if booted; then
  if [[ $UNIT_CHANGED -eq 1 ]]; then systemctl daemon-reload; fi
  if [[ $UDEV_CHANGED -eq 1 ]]; then
    udevadm control --reload
    udevadm trigger --action=change --subsystem-match=tty --subsystem-match=video4linux
  fi
  if [[ $SYSCTL_CHANGED -eq 1 ]]; then sysctl --quiet --load=/etc/sysctl.d/90-frontdesk.conf; fi
  if [[ $SSH_CHANGED -eq 1 ]]; then
    sshd -t || die "sshd rejects its configuration; see /etc/ssh/sshd_config.d/10-frontdesk.conf"
    systemctl reload-or-restart ssh.service
  fi
  if [[ $MODPROBE_CHANGED -eq 1 ]] && command -v update-initramfs >/dev/null \
     && compgen -G '/boot/initrd.img-*' >/dev/null; then
    update-initramfs -u  # the initramfs keeps its own copy of /etc/modprobe.d
  fi
fi

# --- Done -------------------------------------------------------------------------------------
if ! compgen -G '/root/.ssh/authorized_keys' >/dev/null && ! compgen -G '/home/*/.ssh/authorized_keys' >/dev/null; then
  warn "no SSH key is installed for any user, and SSH now takes keys only: add yours" \
    "(ssh-copy-id from your laptop) before you log out; the screen has no login prompt either"
fi
if [[ $CHANGES -eq 1 ]]; then say "done: 1 change"; else say "done: $CHANGES changes"; fi
cat <<EOF

Next:
  1. Ask a Frontdesk admin for an enrolment code for this kiosk's location
     (they run: frontdesk devices enrollment-code --location LOCATION-ID).
  2. sudo frontdesk provision enroll --server https://YOUR-BACK-OFFICE --code CODE
  3. sudo -u $KIOSK_USER frontdesk provision doctor    (every check should say ok)
  4. sudo reboot    (the kiosk app then starts by itself on the screen)
EOF
