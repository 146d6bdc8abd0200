#!/bin/bash
# The default AMI test of an image made from an existing instance (sourceInstanceId
# without a recipe): what any healthy Linux image passes. It runs as root on the
# target, launched from the new AMI, inside cloud-init's final stage: it waits for
# the rest of the boot, never for cloud-init or the boot as a whole (both wait for
# it). Exit 0 means the AMI passed; each problem is a line of the log.
set -uo pipefail
root=${AFI_ROOT:-}   # the user-data tier's stand-in root; empty on an instance
problems=0
problem() { echo "FAILED: $*"; problems=$((problems + 1)); }

# 1. cloud-init's stages before this one finished, without errors.
status="$root/run/cloud-init/status.json"
if [[ ! -r $status ]] || ! command -v python3 >/dev/null; then
  echo "cloud-init: no status to read (no $status or no python3), skipped"
elif errors=$(python3 - "$status" <<'PY'
import json, sys
v1 = json.load(open(sys.argv[1])).get('v1', {})
for stage in ('init-local', 'init', 'modules-config'):
    s = v1.get(stage) or {}
    if s.get('start') and not s.get('finished'):
        print(f'{stage} did not finish')
    for e in s.get('errors') or []:
        print(f'{stage}: {e}')
PY
); then
  if [[ -n $errors ]]; then
    while IFS= read -r e; do problem "cloud-init $e"; done <<<"$errors"
  else
    echo "cloud-init: its stages before this one finished without errors"
  fi
else
  problem "cloud-init: $status is not readable JSON"
fi

# 2. systemd: the boot done but for the jobs that wait for cloud-init's final stage, and no unit failed.
waiting_for_us='^(cloud-final\.service|cloud-init\.target|multi-user\.target|graphical\.target|systemd-update-utmp-runlevel\.service)$'
pending=''
for _ in $(seq 60); do
  pending=$(systemctl list-jobs --no-legend 2>/dev/null | awk '$1 ~ /^[0-9]+$/ {print $2}' | grep -Ev "$waiting_for_us" | paste -sd ' ' -)
  [[ -z $pending ]] && break
  sleep 5
done
[[ -z $pending ]] || problem "systemd: still starting after 5 minutes: $pending"
failed=$(systemctl --failed --no-legend --plain 2>/dev/null | awk '{print $1}' | paste -sd ' ' -)
if [[ -n $failed ]]; then problem "systemd: failed units: $failed"; else echo "systemd: no failed unit"; fi

# 3. The instance metadata service (IMDSv2), and 4. DNS: a name of this region's EC2 endpoint resolves.
imds=http://169.254.169.254/latest
token=$(curl -fsS --max-time 5 -X PUT -H 'X-aws-ec2-metadata-token-ttl-seconds: 60' "$imds/api/token") || token=''
meta() { curl -fsS --max-time 5 -H "X-aws-ec2-metadata-token: $token" "$imds/meta-data/$1"; }
if [[ -n $token ]] && id=$(meta instance-id) && region=$(meta placement/region); then
  echo "metadata service: instance $id in $region"
  domain=$(meta services/domain) || domain=amazonaws.com
  if getent hosts "ec2.$region.$domain" >/dev/null; then echo "DNS: ec2.$region.$domain resolves"; else problem "DNS: ec2.$region.$domain does not resolve"; fi
else
  problem "metadata service: no answer from $imds (IMDSv2)"
fi

if ((problems > 0)); then
  echo "$problems problem(s): the image is not healthy"
  exit 1
fi
echo "healthy: booted, cloud-init and systemd without failures, metadata service and DNS reachable"
