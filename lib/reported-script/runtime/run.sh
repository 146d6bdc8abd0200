# ami-from-instance: runs one recipe script (bake.sh on the source, test.sh
# on the target) and reports its result to a CloudFormation wait condition,
# with a reason the stack events show. Rendered into the instance's user data
# after the AFI_* settings; the script itself follows, then afi_main.
#
# Always a signal: an EXIT trap sends FAILURE when anything ends this early.
# The signal needs only curl (a PUT to the handle's pre-signed URL); the log
# goes to CloudWatch Logs with the AWS CLI when the image has it.

set -uo pipefail
PATH="$PATH:/opt/aws/bin:/usr/local/bin"
afi_dir="${AFI_ROOT:-}/var/lib/ami-from-instance"
afi_log="${AFI_ROOT:-}/var/log/ami-from-instance/${AFI_STEP}.log"
afi_out="$afi_dir/${AFI_STEP}.out"
afi_signalled=false
afi_instance=unknown-instance
afi_stream="${AFI_STEP}/${afi_instance}"
mkdir -p "$afi_dir" "$(dirname "$afi_log")"

afi_say() { echo "ami-from-instance: $*" | tee -a "$afi_log" >&2; }

# JSON string content: backslashes and quotes escaped, control characters dropped.
afi_json() { tr -d '\000-\037' | sed -e 's/\\/\\\\/g' -e 's/"/\\"/g'; }

# The reason CloudFormation shows: what failed, where the log is, and the
# script's last lines; printable ASCII, cut at 700 bytes before escaping.
afi_reason() {
  local source=$afi_out tail_lines
  [[ -s $source ]] || source=$afi_log
  tail_lines=$(tail -n 5 "$source" 2>/dev/null | cut -c 1-160 | paste -sd '|' - | sed 's/|/ | /g')
  printf '%s; log: %s %s; last lines: %s' "$1" "$AFI_LOG_GROUP" "$afi_stream" "$tail_lines" |
    tr -cd '\040-\176' | head -c 700 | afi_json
}

# PUT the signal to the handle, retried; true only when S3 accepted it.
afi_signal() {
  local status=$1 reason=$2 body attempt
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

# The whole log to CloudWatch Logs, one stream per instance, in batches PutLogEvents accepts.
afi_ship_logs() {
  if ! command -v aws >/dev/null 2>&1; then
    afi_say "no AWS CLI on this image: the log stays in $afi_log"
    return 0
  fi
  aws logs create-log-stream --region "$AFI_REGION" --log-group-name "$AFI_LOG_GROUP" --log-stream-name "$afi_stream" 2>/dev/null || true
  local now batch
  now=$(date +%s%3N)
  rm -f "$afi_dir/batch."*
  # PutLogEvents takes at most 1 MiB a batch (each event counts 26 bytes more): 100 lines of at most 8,000 bytes.
  cut -b 1-8000 "$afi_log" | split -l 100 - "$afi_dir/batch."
  for batch in "$afi_dir/batch."*; do
    [[ -e $batch ]] || continue
    afi_json_events "$now" <"$batch" >"$batch.json"
    aws logs put-log-events --region "$AFI_REGION" --log-group-name "$AFI_LOG_GROUP" --log-stream-name "$afi_stream" \
      --log-events "file://$batch.json" >/dev/null || afi_say "could not ship $batch to CloudWatch Logs"
  done
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

afi_on_exit() {
  local code=$?
  if ! $afi_signalled; then
    afi_say "ended before reporting (exit status $code)"
    afi_ship_logs
    afi_signal FAILURE "$(afi_reason "${AFI_STEP} did not finish: the wrapper ended with status $code")"
  fi
}
trap afi_on_exit EXIT
trap 'exit 143' TERM INT

afi_main() {
  local token rc
  token=$(curl -fsS --max-time 5 -X PUT -H 'X-aws-ec2-metadata-token-ttl-seconds: 300' http://169.254.169.254/latest/api/token) &&
    afi_instance=$(curl -fsS --max-time 5 -H "X-aws-ec2-metadata-token: $token" http://169.254.169.254/latest/meta-data/instance-id)
  afi_stream="${AFI_STEP}/${afi_instance}"

  if [[ -n "${AFI_CFN_INIT_RESOURCE:-}" ]]; then
    afi_say "copying files/ onto / (cfn-init)"
    if ! cfn-init -v --stack "$AFI_STACK" --resource "$AFI_CFN_INIT_RESOURCE" --region "$AFI_REGION" >>"$afi_log" 2>&1; then
      afi_ship_logs
      afi_signal FAILURE "$(afi_reason "bake failed: cfn-init could not copy files/ (see /var/log/cfn-init.log)")"
      exit 1
    fi
  fi

  afi_say "running ${AFI_STEP}.sh"
  bash "$afi_dir/${AFI_STEP}.sh" 2>&1 | tee "$afi_out" | tee -a "$afi_log"
  rc=${PIPESTATUS[0]}
  afi_say "${AFI_STEP}.sh exited $rc"
  afi_ship_logs
  if [[ $rc -ne 0 ]]; then
    local what='bake failed'
    [[ $AFI_STEP == test ]] && what='AMI test failed'
    afi_signal FAILURE "$(afi_reason "$what: ${AFI_STEP}.sh exited $rc")"
    exit 1
  fi
  afi_signal SUCCESS "${AFI_STEP}.sh passed on ${afi_instance}" || exit 1
  if [[ ${AFI_POWER_OFF} == true ]]; then
    afi_say "powering off: the job of this instance is done"
    shutdown -h now
  fi
}
