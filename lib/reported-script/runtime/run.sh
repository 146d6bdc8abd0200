# ami-from-instance: runs one recipe script (bake.sh on the source, test.sh
# on the target) and reports its result to a CloudFormation wait condition,
# with a reason the stack events show. Rendered into the instance's user data
# after the AFI_* settings; the script itself follows, then afi_main.
#
# Always one signal: an EXIT trap sends FAILURE when anything ends this early
# (not while rebooting for an exit 194; no trap outlives SIGKILL, the OOM
# killer or a power loss). The signal needs only curl (a PUT to the handle's
# pre-signed URL); the log goes to CloudWatch Logs as the script runs, with the
# AWS CLI when the image has it.

set -uo pipefail
PATH="$PATH:/opt/aws/bin:/usr/local/bin"
afi_dir="${AFI_ROOT:-}/var/lib/ami-from-instance"
afi_log="${AFI_ROOT:-}/var/log/ami-from-instance/${AFI_STEP}.log"
# Kept over reboots: lines shipped, the deadline, reboots so far.
afi_state="$afi_dir/${AFI_STEP}.state"
# cloud-init runs this at every boot; user data runs at the first only.
afi_boot="${AFI_ROOT:-}/var/lib/cloud/scripts/per-boot/ami-from-instance-${AFI_STEP}.sh"
afi_signalled=false
afi_rebooting=false
afi_what='bake failed'
[[ $AFI_STEP == test ]] && afi_what='AMI test failed'
afi_instance=unknown-instance
afi_stream="${AFI_STEP}/${afi_instance}"
mkdir -p "$afi_dir" "$afi_state" "$(dirname "$afi_log")"
touch "$afi_log"

afi_say() { echo "ami-from-instance: $*" | tee -a "$afi_log" >&2; }

# A sleep with no process to outlive its killed subshell: a read from a pipe nobody writes to.
afi_sleep() { read -rt "$1" <> <(:); }

# JSON string content: backslashes and quotes escaped, control characters dropped.
afi_json() { tr -d '\000-\037' | sed -e 's/\\/\\\\/g' -e 's/"/\\"/g'; }

# The reason CloudFormation shows: what failed, where the log is, and the
# script's last lines; printable ASCII, cut at 700 bytes before escaping.
afi_reason() {
  local tail_lines
  tail_lines=$(grep -av '^ami-from-instance: ' "$afi_log" | tail -n 5 | cut -c 1-160 | paste -sd '|' - | sed 's/|/ | /g')
  printf '%s; log: %s %s; last lines: %s' "$1" "$AFI_LOG_GROUP" "$afi_stream" "$tail_lines" |
    tr -cd '\040-\176' | head -c 700 | afi_json
}

# PUT the signal to the handle, retried; true only when S3 accepted it.
afi_signal() {
  local status=$1 reason=$2 body attempt
  # The step is over: no boot runs it again.
  rm -f "$afi_boot"
  body=$(printf '{"Status":"%s","Reason":"%s","UniqueId":"%s","Data":"%s"}' "$status" "$reason" "$afi_instance" "$status")
  for attempt in 1 2 3 4 5; do
    if curl -fsS --max-time 20 -X PUT -H 'Content-Type:' --data-binary "$body" "$AFI_SIGNAL_URL" >/dev/null; then
      afi_signalled=true
      afi_say "signalled $status (attempt $attempt)"
      if [[ -n "${AFI_CFN_SIGNAL_RESOURCE:-}" ]]; then
        local code=1
        [[ $status == SUCCESS ]] && code=0
        cfn-signal -e "$code" --stack "$AFI_STACK" --resource "$AFI_CFN_SIGNAL_RESOURCE" --region "$AFI_REGION" || afi_say "cfn-signal failed"
      fi
      return 0
    fi
    afi_say "signal attempt $attempt failed"
    sleep $((attempt * 2))
  done
  afi_say "could not signal $status: CloudFormation will time out"
  return 1
}

afi_fail() {
  afi_ship_logs
  afi_signal FAILURE "$(afi_reason "$afi_what: $1")"
  exit 1
}

# The log's new lines to CloudWatch Logs, one stream per instance, in batches
# PutLogEvents accepts; $afi_state/shipped counts the lines sent.
afi_ship_logs() {
  command -v aws >/dev/null 2>&1 || return 0
  # This process's batches: a killed shipper's split or aws may still use its own.
  local now batch sent total n to="$afi_dir/batch.$BASHPID."
  sent=$(cat "$afi_state/shipped" 2>/dev/null) || sent=0
  total=$(wc -l <"$afi_log")
  ((total > sent)) || return 0
  aws logs create-log-stream --region "$AFI_REGION" --log-group-name "$AFI_LOG_GROUP" --log-stream-name "$afi_stream" 2>/dev/null
  now=$(date +%s%3N)
  rm -f "$to"*
  # At most 1 MiB a batch (each event counts 26 bytes more): 100 lines of at
  # most 8,000 bytes; iconv drops a character the cut split, and invalid bytes.
  tail -n "+$((sent + 1))" "$afi_log" | head -n "$((total - sent))" | cut -b 1-8000 |
    iconv -c -f UTF-8 -t UTF-8 | split -l 100 - "$to"
  for batch in "$to"*; do
    [[ -e $batch ]] || continue
    n=$(wc -l <"$batch")
    afi_json_events "$now" <"$batch" >"$batch.json"
    # Counted before the PUT: a shipper killed during it sends nothing twice.
    echo "$((sent + n))" >"$afi_state/shipped"
    if ! aws logs put-log-events --region "$AFI_REGION" --log-group-name "$AFI_LOG_GROUP" --log-stream-name "$afi_stream" \
      --log-events "file://$batch.json" >/dev/null; then
      echo "$sent" >"$afi_state/shipped"
      afi_say "could not ship lines $((sent + 1))-$((sent + n)) to CloudWatch Logs"
      return 1
    fi
    sent=$((sent + n))
  done
  rm -f "$to"*
}

afi_json_events() {
  local now=$1 line first=true
  printf '['
  while IFS= read -r line || [[ -n $line ]]; do
    $first || printf ','
    first=false
    printf '{"timestamp":%s,"message":"%s"}' "$now" "$(printf '%s' "${line:- }" | afi_json)"
  done
  printf ']'
}

# Ends the script (if the wrapper is killed), its time bound and the shipper:
# every job of ours still running, not a list kept by hand (a TERM between a
# fork and the line that records $! would leave that job to outlive us, holding
# our output open). jobs lists this shell's jobs in $(...) too; -r leaves out
# the finished ones, whose pids may be another process's by now.
afi_stop() {
  local pids
  pids=$(jobs -pr)
  [[ -z $pids ]] || kill $pids 2>/dev/null
}

afi_on_exit() {
  local code=$?
  # Not in a subshell killed before it dropped our traps.
  [[ $BASHPID == "$$" ]] || return
  afi_stop
  $afi_rebooting && return
  $afi_signalled || afi_say "ended before reporting (exit status $code)"
  afi_ship_logs
  $afi_signalled || afi_signal FAILURE "$(afi_reason "${AFI_STEP} did not finish: the wrapper ended with status $code")"
}
trap afi_on_exit EXIT
trap 'exit 143' TERM INT

# Exit 194 asks for a reboot, as with SSM Run Command: this whole user data
# becomes a per-boot script, which runs the script again after the boot.
afi_reboot() {
  local n
  n=$(($(cat "$afi_state/reboots" 2>/dev/null || echo 0) + 1))
  ((n <= 5)) || afi_fail "${AFI_STEP}.sh asked for a ${n}th reboot (at most 5)"
  mkdir -p "${afi_boot%/*}" && { [[ $0 -ef $afi_boot ]] || cp "$0" "$afi_boot"; } && chmod 700 "$afi_boot" &&
    echo "$n" >"$afi_state/reboots" || afi_fail "could not install $afi_boot to reboot"
  afi_rebooting=true
  afi_say "rebooting ($n of at most 5): ${AFI_STEP}.sh asked to (exit 194)"
  afi_ship_logs
  reboot && exit 0
  afi_rebooting=false
  afi_fail "could not reboot"
}

afi_main() {
  local token id='' rc=124 deadline left pid
  token=$(curl -fsS --max-time 5 -X PUT -H 'X-aws-ec2-metadata-token-ttl-seconds: 300' http://169.254.169.254/latest/api/token) &&
    id=$(curl -fsS --max-time 5 -H "X-aws-ec2-metadata-token: $token" http://169.254.169.254/latest/meta-data/instance-id)
  afi_instance=${id:-unknown-instance}
  afi_stream="${AFI_STEP}/${afi_instance}"

  if [[ $0 -ef $afi_boot ]]; then
    afi_say "booted again: reboot $(cat "$afi_state/reboots") of at most 5"
  else
    # First boot: drop any state (and log lines) of a bake this image came from.
    rm -f "$afi_state/"*
    wc -l <"$afi_log" >"$afi_state/shipped"
    echo $(($(date +%s) + AFI_SCRIPT_SECONDS)) >"$afi_state/deadline"
    command -v aws >/dev/null 2>&1 || afi_say "no AWS CLI on this image: the log stays in $afi_log"
    if [[ -n "${AFI_CFN_INIT_RESOURCE:-}" ]]; then
      afi_say "copying files/ onto / (cfn-init)"
      if ! cfn-init -v --stack "$AFI_STACK" --resource "$AFI_CFN_INIT_RESOURCE" --region "$AFI_REGION" >>"$afi_log" 2>&1; then
        afi_say "cfn-init failed; /var/log/cfn-init.log:"
        cat "${AFI_ROOT:-}/var/log/cfn-init.log" >>"$afi_log" 2>/dev/null
        afi_fail "cfn-init could not copy files/ (see /var/log/cfn-init.log)"
      fi
    fi
  fi

  afi_say "running ${AFI_STEP}.sh"
  deadline=$(cat "$afi_state/deadline")
  left=$((deadline - $(date +%s)))
  if ((left > 0)); then
    # Its output to a file, not a pipe, so daemons it starts do not hold us.
    bash "$afi_dir/${AFI_STEP}.sh" </dev/null >>"$afi_log" 2>&1 &
    pid=$!
    { afi_sleep "$left"; kill "$pid"; afi_sleep 10; kill -KILL "$pid"; } 2>/dev/null &
    while :; do afi_sleep "$AFI_LOG_SECONDS"; afi_ship_logs; done &
    wait "$pid"
    rc=$?
    afi_stop
  fi
  if ((rc != 0 && $(date +%s) >= deadline)); then
    afi_say "${AFI_STEP}.sh timed out"
    afi_fail "${AFI_STEP}.sh timed out after $AFI_SCRIPT_SECONDS s"
  fi
  afi_say "${AFI_STEP}.sh exited $rc"
  ((rc == 194)) && afi_reboot
  ((rc == 0)) || afi_fail "${AFI_STEP}.sh exited $rc"
  afi_ship_logs
  afi_signal SUCCESS "${AFI_STEP}.sh passed on ${afi_instance}" || exit 1
  if [[ ${AFI_POWER_OFF} == true ]]; then
    afi_say "powering off: the job of this instance is done"
    shutdown -h now
  fi
}
