#!/usr/bin/env bash
# test_slurm.sh — the SLURM templates for real, inside the cluster of local_cluster.sh:
#
#   make test-slurm      (bash scripts/slurm/local_cluster.sh bash scripts/slurm/test_slurm.sh)
#
# (1) a 4-point [sweep] as one array job (submit_sweep.sh, sweep.sbatch); (2) train, 4 shards
# and merge + analyze chained with afterok (submit_ensemble.sh); (3) a shard stopped by
# `scancel --signal=TERM --batch` that writes its checkpoint, requeues itself and resumes. Each
# result is compared bit for bit (h5py, /usr/bin/python3) with a run made outside SLURM.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
slurm=$root/scripts/slurm
export DDM_GPU=$root/ddm_gpu DDM_SLURM=$slurm
[[ -x $DDM_GPU ]] || { echo "test_slurm.sh: build ddm_gpu first (make)" >&2; exit 2; }
work=$(mktemp -d /tmp/ddm_slurm_test.XXXXXX)
chmod 755 "$work"
cd "$work"
T0=$(date +%s.%N)
say() { printf '[test_slurm %5.1fs] %s\n' "$(awk -v a="$T0" -v b="$(date +%s.%N)" 'BEGIN{print b-a}')" "$*"; }

# wait_gone ID: until the job (every task of an array) has left the queue
wait_gone() {
    local id=$1
    for _ in $(seq 600); do
        [[ -z $(squeue -h -j "$id" -o %i 2>/dev/null) ]] && return 0
        sleep 0.25
    done
    echo "job $id still queued after 150 s" >&2
    squeue >&2
    return 1
}
show_logs() { tail -n 5 "$1"/logs/* >&2 || true; }

cat >ens.ini <<'EOF'
[system]
name = vdp
[network]
neurons = 16
seed = 4
[train]
samples = 400
epochs = 3
paths = 2
path_time = 10
path_burn_in = 1
[simulate]
trajectories = 9
steps = 400
record_every = 10
burn_in = 100
trace_trajectories = 2
trace_neurons = 3
[analysis]
pca = 0
lyapunov_steps = 200
hhd_grid = 8
decomposition_grid = 5
EOF
cp ens.ini sweep.ini
cat >>sweep.ini <<'EOF'
[sweep]
network.seed = 1, 2, 3, 4
[output]
path = unused_{index}.h5
EOF
# a run long enough to be stopped part-way: 64 trajectories, 15 burn-in chunks of 10000 steps
sed -e 's/^trajectories = 9/trajectories = 64/' -e 's/^burn_in = 100/burn_in = 150000/' \
    ens.ini >long.ini

say "(1) sweep: 4 points as one array job"
out=$("$slurm/submit_sweep.sh" sweep.ini sweep --set train.epochs=2)
say "$out"
wait_gone "$(grep -o 'array job [0-9]*' <<<"$out" | cut -d' ' -f3)" || { show_logs sweep; exit 1; }
for i in 0 1 2 3; do
    "$DDM_GPU" sweep.ini --array-index "$i" --set train.epochs=2 --output "ref_sweep_$i.h5" --quiet
done

say "(2) ensemble: train -> 4 shards -> merge + analyze, chained with afterok"
out=$("$slurm/submit_ensemble.sh" ens.ini ens 4)
say "$out"
wait_gone "$(grep -o 'merge [0-9]*' <<<"$out" | cut -d' ' -f2)" || { show_logs ens; exit 1; }
grep -q . ens/logs/ddm-merge_* && sed -n '1,2p' ens/logs/ddm-merge_*
"$DDM_GPU" ens.ini --stages simulate --model ens/model.h5 --output ref_whole.h5 --quiet

say "(3) preemption: scancel --signal=TERM --batch on a running shard; it requeues and resumes"
mkdir -p long/logs
cp ens/model.h5 long/model.h5
"$DDM_GPU" long.ini --shard 0/1 --model long/model.h5 --output ref_long.h5 --quiet &
ref_pid=$!
job=$(sbatch --parsable --array=0 --output="$work/long/logs/%x_%A_%a.out" \
    "$slurm/ensemble.sbatch" long.ini long 1 | cut -d';' -f1)
for _ in $(seq 400); do [[ -e long/shard_0.h5 ]] && break; sleep 0.05; done
sleep 0.3
scancel --signal=TERM --batch "${job}_0"
say "sent SIGTERM to the batch shell of job ${job}_0"
wait_gone "$job" || { show_logs long; exit 1; }
wait "$ref_pid"
grep -h 'resumable.sh\|ddm_gpu: stopped' long/logs/*

say "checking the files"
/usr/bin/python3 - <<'EOF'
import h5py, numpy as np
def same(a, b, names):
    for n in names:
        x, y = a[n][...], b[n][...]
        assert x.shape == y.shape and np.array_equal(x, y), f"{n} differs: {a.filename} {b.filename}"
sim = ["simulate/latent", "simulate/target_latent", "simulate/traces", "simulate/t"]
for i in range(4):
    f, r = h5py.File(f"sweep/sweep_{i}.h5", "r"), h5py.File(f"ref_sweep_{i}.h5", "r")
    assert f.attrs["complete"] == 1 and f.attrs["sweep_index"] == i, dict(f.attrs)
    same(f, r, sim + ["model/Gamma", "train/loss"])
    print(f"sweep_{i}.h5: point {i} ({f.attrs['sweep_assignment']}) complete, equal to a run outside SLURM")
m, w = h5py.File("ens/merged.h5", "r"), h5py.File("ref_whole.h5", "r")
assert all(m[n].is_virtual for n in sim) and m.attrs["complete"] == 1
same(m, w, sim + ["model/Gamma"])
assert "analysis" in m and np.isfinite(m["analysis/hhd/rnn"].attrs["entropy_production"])
print("merged.h5: virtual", m["simulate/latent"].shape, "over",
      [s.file_name for s in m["simulate/latent"].virtual_sources()],
      "= the unsharded run; analysis Φ =", m["analysis/hhd/rnn"].attrs["entropy_production"])
s, r = h5py.File("long/shard_0.h5", "r"), h5py.File("ref_long.h5", "r")
assert s.attrs["complete"] == 1 and s.attrs.get("resumes", 0) >= 1, dict(s.attrs)
assert "checkpoint" not in s
same(s, r, sim)
print(f"long/shard_0.h5: stopped, requeued, resumed {s.attrs['resumes']}x; equal to the uninterrupted run")
EOF
say "all SLURM checks passed"
rm -rf "$work"
