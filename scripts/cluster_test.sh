#!/usr/bin/env bash
# Shards a batch across a real (throwaway, single-node) Slurm cluster and checks
# that `onlooker merge` of the shards equals one `onlooker analyze` run.
#
#   ONLOOKER=target/release/onlooker scripts/cluster_test.sh      (make cluster-test)
#
# Starts munged, slurmctld and slurmd entirely under a temporary folder (own
# munge key and socket, own slurm.conf, free ports), submits
# deploy/slurm/onlooker-array.sbatch as an array of CLUSTER_SHARDS tasks, merges
# the shard files, runs the same input on one machine, compares the two JSON
# documents (scripts/compare_results.py), re-submits the array to check that
# complete shards are skipped and left byte-identical, and stops every daemon
# and removes the folder on any exit. Needs root (slurmd runs jobs as root here).
#
# Environment:
#   ONLOOKER               binary under test (default target/release/onlooker)
#   ONLOOKER_MODELS        model folder (default models/weights if present)
#   CLUSTER_INPUT          file or folder to analyse (default samples)
#   CLUSTER_SHARDS         array size = number of shards (default 3)
#   CLUSTER_CPUS_PER_TASK  --cpus-per-task of each task (default 1: tasks run
#                          side by side up to the node's cores)
#   CLUSTER_KEEP=1         keep the temporary folder (its path is printed)
#   CLUSTER_STANDIN=1      test only the cluster machinery: replaces ONLOOKER
#                          by a small stand-in script that shards file names
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"

ONLOOKER=${ONLOOKER:-target/release/onlooker}
CLUSTER_INPUT=${CLUSTER_INPUT:-samples}
CLUSTER_SHARDS=${CLUSTER_SHARDS:-3}
CLUSTER_CPUS_PER_TASK=${CLUSTER_CPUS_PER_TASK:-1}
SBATCH_SCRIPT=$ROOT/deploy/slurm/onlooker-array.sbatch

say() { printf '[cluster-test] %s\n' "$*"; }
die() { printf '[cluster-test] FAILED: %s\n' "$*" >&2; exit 1; }
now() { date +%s.%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }

# --- slurm-wlm and munge ----------------------------------------------------
PATH=$PATH:/usr/sbin:/sbin
have_tools() {
    local t
    for t in slurmctld slurmd sbatch sinfo squeue scancel munged munge; do
        command -v "$t" >/dev/null || return 1
    done
}
if ! have_tools; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        say "installing the Debian packages slurm-wlm and munge"
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
            slurm-wlm munge >/dev/null
    fi
    have_tools || {
        echo "cluster-test needs Slurm and MUNGE: install the Debian packages slurm-wlm and munge (apt-get install slurm-wlm munge, as root)" >&2
        exit 2
    }
fi
if [ "$(id -u)" != 0 ]; then
    echo "cluster-test runs slurmd, which starts jobs as their user: run it as root" >&2
    exit 2
fi

# --- the throwaway cluster's folder and its cleanup -------------------------
TMP=$(mktemp -d "${TMPDIR:-/tmp}/onlooker-cluster.XXXXXX")
PIDS_SLURM=()
PID_MUNGED=
PID_SBATCH=
cleanup() {
    local rc=$?
    set +e
    if [ -n "$PID_SBATCH" ]; then kill "$PID_SBATCH" 2>/dev/null; wait "$PID_SBATCH" 2>/dev/null; fi
    if [ ${#PIDS_SLURM[@]} -gt 0 ]; then
        # Cancel what is still queued or running, then stop the daemons.
        scancel --quiet --user=root 2>/dev/null
        for _ in $(seq 20); do
            [ -z "$(squeue -h 2>/dev/null)" ] && break
            sleep 0.5
        done
        kill "${PIDS_SLURM[@]}" 2>/dev/null
        for pid in "${PIDS_SLURM[@]}"; do
            for _ in $(seq 40); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
            kill -KILL "$pid" 2>/dev/null
            wait "$pid" 2>/dev/null
        done
    fi
    if [ -n "$PID_MUNGED" ]; then
        kill "$PID_MUNGED" 2>/dev/null
        wait "$PID_MUNGED" 2>/dev/null
    fi
    if [ "${CLUSTER_KEEP:-0}" = 1 ]; then
        say "kept $TMP"
    else
        rm -rf "$TMP"
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

print_logs() {
    local f
    for f in "$TMP"/log/*.log "$TMP"/tasks/*.out; do
        [ -f "$f" ] || continue
        echo "----- $f (last 30 lines)" >&2
        tail -n 30 "$f" >&2
    done
}

# --- the binary under test ---------------------------------------------------
if [ "${CLUSTER_STANDIN:-0}" = 1 ]; then
    ONLOOKER=$TMP/onlooker-standin
    # A stand-in with the same command line: shards file names by a stable
    # hash, writes a last line marking a shard complete and skips complete
    # shards, merges into one document with the names in order.
    cat >"$ONLOOKER" <<'PY'
#!/usr/bin/env python3
import hashlib, json, os, sys, time
args = sys.argv[1:]
def opt(name):
    return args[args.index(name) + 1] if name in args else None
def inputs(root):
    if os.path.isfile(root):
        return [os.path.basename(root)]
    return sorted(os.path.relpath(os.path.join(d, f), root)
                  for d, _, fs in os.walk(root) for f in fs)
def doc(names):
    return {"version": 1, "images": [{"path": n} for n in names], "videos": [],
            "summary": {"images": len(names), "elapsed_seconds": time.process_time()}}
if args[0] == "analyze":
    root = args[1]
    if "--shard-from-env" in args:
        k = int(os.environ.get("SLURM_ARRAY_TASK_ID", os.environ.get("JOB_COMPLETION_INDEX", "")))
        n = int(os.environ.get("ONLOOKER_SHARDS", os.environ.get("SLURM_ARRAY_TASK_COUNT", "")))
        out = opt("--jsonl")
        if os.path.exists(out) and open(out).read().endswith('{"complete":true}\n'):
            sys.exit(0)
        time.sleep(2)
        with open(out, "w") as f:
            f.write(json.dumps({"shard": k, "of": n}) + "\n")
            for name in inputs(root):
                if int(hashlib.sha256(name.encode()).hexdigest(), 16) % n == k:
                    f.write(json.dumps({"path": name}) + "\n")
            f.write('{"complete":true}\n')
    else:
        time.sleep(2)
        json.dump(doc(inputs(root)), open(opt("--json"), "w"))
elif args[0] == "merge":
    files = [a for a in args[1:] if a.endswith(".jsonl")]
    names, n, seen = [], None, set()
    for path in files:
        lines = open(path).read().splitlines()
        if not lines or lines[-1] != '{"complete":true}':
            sys.exit(f"shard {path} is truncated")
        head = json.loads(lines[0]); n = head["of"]; seen.add(head["shard"])
        names += [json.loads(l)["path"] for l in lines[1:-1]]
    missing = sorted(set(range(n)) - seen)
    if missing:
        sys.exit(f"shard {missing[0]} of {n} is missing")
    json.dump(doc(sorted(names)), open(opt("--json"), "w"))
    os.makedirs(opt("--out"), exist_ok=True)
PY
    chmod +x "$ONLOOKER"
    say "CLUSTER_STANDIN=1: testing the cluster machinery with a stand-in for onlooker"
else
    case $ONLOOKER in */*) ONLOOKER=$(cd "$(dirname "$ONLOOKER")" && pwd)/$(basename "$ONLOOKER") ;; esac
    [ -x "$ONLOOKER" ] || command -v "$ONLOOKER" >/dev/null || die "no onlooker binary at $ONLOOKER (make build)"
    "$ONLOOKER" merge --help >/dev/null 2>&1 || die "$ONLOOKER has no 'merge' command"
    if [ -z "${ONLOOKER_MODELS:-}" ] && [ -d "$ROOT/models/weights" ]; then
        ONLOOKER_MODELS=$ROOT/models/weights
    fi
fi
[ -e "$CLUSTER_INPUT" ] || die "CLUSTER_INPUT=$CLUSTER_INPUT does not exist"

# --- munge: own key, socket, pid, log and seed files -------------------------
mkdir -p "$TMP"/munge "$TMP"/log "$TMP"/state "$TMP"/spool "$TMP"/tasks "$TMP"/shards
chmod 755 "$TMP"/munge  # munged wants its socket folder searchable by all
MUNGE_SOCKET=$TMP/munge/munge.socket
dd if=/dev/urandom of="$TMP/munge/munge.key" bs=1024 count=1 status=none
chmod 400 "$TMP/munge/munge.key"
# --force: munged refuses, as root, folders it deems insecure (e.g. /tmp).
munged --foreground --force --socket="$MUNGE_SOCKET" --key-file="$TMP/munge/munge.key" \
    --pid-file="$TMP/munge/munged.pid" --log-file="$TMP/log/munged.log" \
    --seed-file="$TMP/munge/munged.seed" >>"$TMP/log/munged.log" 2>&1 &
PID_MUNGED=$!
for _ in $(seq 50); do
    [ -S "$MUNGE_SOCKET" ] && break
    kill -0 "$PID_MUNGED" 2>/dev/null || { print_logs; die "munged exited"; }
    sleep 0.1
done
munge -n -S "$MUNGE_SOCKET" | unmunge -S "$MUNGE_SOCKET" >/dev/null ||
    { print_logs; die "munge credential round trip failed"; }

# --- slurm.conf --------------------------------------------------------------
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
HOST=$(hostname -s)
CPUS=$(nproc)
MEM_MB=$(awk '/^MemTotal:/ { printf "%d", $2 / 1024 * 0.9 }' /proc/meminfo)
CTLD_PORT=$(free_port)
SLURMD_PORT=$(free_port)
while [ "$SLURMD_PORT" = "$CTLD_PORT" ]; do SLURMD_PORT=$(free_port); done
export SLURM_CONF=$TMP/slurm.conf
cat >"$SLURM_CONF" <<EOF
# Throwaway single-node cluster of scripts/cluster_test.sh
ClusterName=onlooker-test
SlurmctldHost=$HOST(127.0.0.1)
SlurmctldPort=$CTLD_PORT
SlurmdPort=$SLURMD_PORT
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket=$MUNGE_SOCKET
CredType=cred/munge
MpiDefault=none
MailProg=/bin/true
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
ReturnToService=2
# sbatch --wait polls after 2 s, then 4x longer each time while that stays
# under MinJobAge/2 (2, 10, 42 s...): a small MinJobAge keeps it at 2 s.
MinJobAge=4
StateSaveLocation=$TMP/state
SlurmdSpoolDir=$TMP/spool
SlurmctldPidFile=$TMP/slurmctld.pid
SlurmdPidFile=$TMP/slurmd.pid
SlurmctldLogFile=$TMP/log/slurmctld.log
SlurmdLogFile=$TMP/log/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
NodeName=$HOST NodeAddr=127.0.0.1 CPUs=$CPUS RealMemory=$MEM_MB State=UNKNOWN
PartitionName=test Nodes=$HOST Default=YES MaxTime=INFINITE State=UP
EOF

# --- slurmctld and slurmd ----------------------------------------------------
slurmctld -D -c -f "$SLURM_CONF" >>"$TMP/log/slurmctld.stderr.log" 2>&1 &
PIDS_SLURM+=($!)
slurmd -D -f "$SLURM_CONF" >>"$TMP/log/slurmd.stderr.log" 2>&1 &
PIDS_SLURM+=($!)
state=
for _ in $(seq 60); do
    state=$(sinfo -h -N -o '%t' 2>/dev/null | head -n 1 || true)
    [ "$state" = idle ] && break
    for pid in "${PIDS_SLURM[@]}"; do
        kill -0 "$pid" 2>/dev/null || { print_logs; die "a Slurm daemon exited"; }
    done
    sleep 0.5
done
[ "$state" = idle ] || { print_logs; die "node $HOST not idle after 30 s (state: ${state:-none})"; }
say "cluster up: node $HOST, $CPUS CPUs, ${MEM_MB} MB; $(sbatch --version)"

# --- the array job ------------------------------------------------------------
LAST=$((CLUSTER_SHARDS - 1))
export ONLOOKER ONLOOKER_INPUT=$CLUSTER_INPUT ONLOOKER_SHARD_DIR=$TMP/shards
if [ -n "${ONLOOKER_MODELS:-}" ]; then export ONLOOKER_MODELS; fi
unset ONLOOKER_SHARDS  # the sbatch script takes it from the array size

submit() {  # $1: label of the run
    local out=$TMP/tasks/$1
    mkdir -p "$out"
    # In the background so that a signal reaches the trap at once.
    sbatch --wait --quiet --array="0-$LAST" --cpus-per-task="$CLUSTER_CPUS_PER_TASK" \
        --chdir="$ROOT" --output="$out/task-%a.out" --job-name="onlooker-$1" "$SBATCH_SCRIPT" &
    PID_SBATCH=$!
    local rc=0
    wait "$PID_SBATCH" || rc=$?
    PID_SBATCH=
    return "$rc"
}
task_times() {  # $1: label; prints "K:seconds" per task and sets SPAN (first start to last end)
    local out=$TMP/tasks/$1
    cat "$out"/task-*.out | awk '
        $1 == "onlooker-task-start" { s[$2] = $3; if (min == "" || $3 < min) min = $3 }
        $1 == "onlooker-task-end"   { e[$2] = $3; if ($3 > max) max = $3 }
        END {
            for (k in s) if (k in e) printf "task %s %.1f s\n", k, e[k] - s[k]
            if (min != "" && max != "") printf "span %.1f\n", max - min
        }' | sort
}

say "submitting $SBATCH_SCRIPT as --array=0-$LAST --cpus-per-task=$CLUSTER_CPUS_PER_TASK over $CLUSTER_INPUT"
t0=$(now)
submit first || { print_logs; die "the array job failed"; }
t1=$(now)
WAIT_SECS=$(secs "$t0" "$t1")
FIRST_TIMES=$(task_times first)
# sbatch --wait notices the end only at its next poll (every 2 s here): the
# array's wall time is from the submission to the last task's end stamp.
last_end=$(awk '$1 == "onlooker-task-end" { if ($3 > m) m = $3 } END { print m }' "$TMP"/tasks/first/task-*.out)
ARRAY_SECS=$(secs "$t0" "$last_end")
for k in $(seq 0 "$LAST"); do
    [ -s "$TMP/shards/shard-$k.jsonl" ] || { print_logs; die "no shard file shard-$k.jsonl"; }
done
say "array done: $ARRAY_SECS s from submission to the last task's end (sbatch --wait returned after $WAIT_SECS s)"

# --- merge, and a merge with a shard missing ---------------------------------
SHARDS=()
for k in $(seq 0 "$LAST"); do SHARDS+=("$TMP/shards/shard-$k.jsonl"); done
"$ONLOOKER" merge "${SHARDS[@]}" --json "$TMP/merged.json" --out "$TMP/report" -q ||
    die "onlooker merge failed"
[ -d "$TMP/report" ] || die "onlooker merge wrote no report folder"
if [ "$CLUSTER_SHARDS" -gt 1 ]; then
    if "$ONLOOKER" merge "${SHARDS[@]:1}" --json "$TMP/partial.json" >"$TMP/partial.log" 2>&1; then
        die "onlooker merge without shard-0.jsonl succeeded"
    fi
    say "merge without shard-0.jsonl fails as it should: $(head -n 1 "$TMP/partial.log")"
fi
# A truncated shard (cut in the middle, as by a killed writer) must fail too.
mkdir -p "$TMP/truncated"
cp "${SHARDS[@]}" "$TMP/truncated/"
cut_file=$TMP/truncated/shard-$LAST.jsonl
head -c "$(( $(stat -c %s "$cut_file") / 2 ))" "${SHARDS[$LAST]}" >"$cut_file"
if "$ONLOOKER" merge "$TMP"/truncated/shard-*.jsonl --json "$TMP/truncated.json" >"$TMP/truncated.log" 2>&1; then
    die "onlooker merge with a truncated shard-$LAST.jsonl succeeded"
fi
say "merge with shard-$LAST.jsonl cut in half fails as it should: $(head -n 1 "$TMP/truncated.log")"

# --- the same input on one machine ---------------------------------------------
say "single run: $ONLOOKER analyze $CLUSTER_INPUT --json single.json -q"
t0=$(now)
"$ONLOOKER" analyze "$CLUSTER_INPUT" --json "$TMP/single.json" -q || die "the single run failed"
t1=$(now)
SINGLE_SECS=$(secs "$t0" "$t1")

# A difference fails the test at the end, after the resume check and summary.
DIFF_OK=1
DIFF_RESULT=$(python3 "$ROOT/scripts/compare_results.py" "$TMP/single.json" "$TMP/merged.json") || {
    DIFF_OK=0
    echo "$DIFF_RESULT" >&2
}

# --- resume through Slurm: re-submitting the same array skips complete shards --
(cd "$TMP/shards" && sha256sum shard-*.jsonl) >"$TMP/shards.sha256"
t0=$(now)
submit again || { print_logs; die "the re-submitted array job failed"; }
t1=$(now)
AGAIN_SECS=$(secs "$t0" "$t1")
AGAIN_TIMES=$(task_times again)
(cd "$TMP/shards" && sha256sum --quiet -c "$TMP/shards.sha256") ||
    die "re-submitting the array changed the complete shard files"
# Complete shards must be skipped, not analysed again: each task of the
# re-submission takes at most half the slowest first task (or 2 s).
slowest_first=$(awk '$1 == "task" { if ($3 > m) m = $3 } END { print m + 0 }' <<<"$FIRST_TIMES")
slowest_again=$(awk '$1 == "task" { if ($3 > m) m = $3 } END { print m + 0 }' <<<"$AGAIN_TIMES")
awk -v a="$slowest_again" -v f="$slowest_first" 'BEGIN { exit !(a <= 2 || a <= f / 2) }' ||
    die "re-submitted tasks took up to $slowest_again s (first run: $slowest_first s): complete shards were not skipped"

# --- summary -------------------------------------------------------------------
row() { printf '  %-40s %s\n' "$1" "$2"; }
echo
echo "cluster-test summary: $CLUSTER_INPUT, $CLUSTER_SHARDS shards x $CLUSTER_CPUS_PER_TASK CPU, node of $CPUS CPUs"
row "single run (all cores):" "$SINGLE_SECS s"
row "$CLUSTER_SHARDS-shard array, submit to last task end:" "$ARRAY_SECS s (sbatch --wait returned after $WAIT_SECS s)"
row "first task start to last task end:" "$(awk '$1 == "span" { print $2 }' <<<"$FIRST_TIMES") s"
while read -r _ k t _; do row "  task $k:" "$t s"; done < <(grep '^task ' <<<"$FIRST_TIMES")
row "re-submitted array (resume):" "$AGAIN_SECS s to return, slowest task $slowest_again s, shards byte-identical"
row "merged vs single:" "$(head -n 1 <<<"$DIFF_RESULT")"
[ "$DIFF_OK" = 1 ] || die "the merged document differs from the single run's (above)"
say "passed"
