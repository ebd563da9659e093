#!/usr/bin/env bash
# Installs the Debian packages given as arguments when any is missing
# (always refreshing the package lists first), and fetches Go modules.
set -euo pipefail
missing=()
for p in "$@"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
	if [ "$(id -u)" -ne 0 ]; then
		echo "deps: missing Debian packages (run as root to install): ${missing[*]}" >&2
		exit 1
	fi
	echo "deps: installing ${missing[*]}"
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
# Pacemaker's packages start the cluster stack on install; the lab runs its
# own per-namespace copies, so the host's must stay down.
if command -v systemctl >/dev/null && systemctl is-active -q pacemaker 2>/dev/null; then
	systemctl stop pacemaker corosync || true
fi
go mod download
