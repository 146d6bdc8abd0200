#!/bin/bash
# Tests the server image: it booted and systemd is running.
set -euo pipefail
state=$(systemctl is-system-running --wait || true)
echo "systemd: $state"
[[ $state == running ]]
