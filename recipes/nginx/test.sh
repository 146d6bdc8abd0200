#!/bin/bash
# The AMI test of the demo recipe. Runs as root on an instance launched from
# the new AMI; exit 0 means the AMI passed. Output lines are kept in the log,
# and the last ones are the failure reason in the stack events.
set -euo pipefail

systemctl is-enabled --quiet nginx || { echo "nginx is not enabled"; exit 1; }
for _ in $(seq 1 30); do
  systemctl is-active --quiet nginx && break
  sleep 2
done
systemctl is-active --quiet nginx || { echo "nginx is not running"; exit 1; }
page=$(curl -fsS --max-time 5 --retry 5 --retry-connrefused http://localhost/) || { echo "nginx does not answer on http://localhost/"; exit 1; }
grep -q 'baked by ami-from-instance' <<<"$page" || { echo "nginx does not serve the baked page"; exit 1; }
echo "nginx enabled, running and serving the baked page"
