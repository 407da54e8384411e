#!/usr/bin/env python3
"""Figures of a ddm_gpu run file (h5py + matplotlib), written as PNGs next to the file.

    python3 scripts/plot.py RUN.h5 [--out DIR] [--show]

run_traces.png   neuron traces of one trajectory above its latent path, network and coupled
                 target overlaid (the paper's Figs 1-2)
run_latent.png   the latent attractor of several trajectories, network beside target
run_train.png    training loss per epoch, with the held-out drift error in the title

On Debian use /usr/bin/python3 (it sees python3-h5py and python3-matplotlib).
"""
import argparse
import os
import sys

import h5py
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402


def text(value):
    return value.decode() if isinstance(value, bytes) else str(value)


def plot_traces(f, name, out):
    sim = f["simulate"]
    t = sim["t"][:]
    traces = sim["traces"]
    if traces.shape[0] == 0 or traces.shape[2] == 0:
        return None
    shown = min(5, traces.shape[2])
    latent, target = sim["latent"][0], sim["target_latent"][0]
    names = [v.strip() for v in text(f["system"].attrs["vars"]).split(",")]
    fig, axes = plt.subplots(2, 1, figsize=(9, 6), sharex=True,
                             gridspec_kw={"height_ratios": [3, 2]})
    neurons = sim["trace_neurons"][:]
    offset = 0.0
    for j in range(shown):
        x = traces[0, :, j]
        axes[0].plot(t, x - x.mean() + offset, lw=0.8)
        axes[0].text(t[-1], offset, f" neuron {neurons[j]}", fontsize=7, va="center")
        offset -= 3 * (x.std() + 1e-9)
    axes[0].set_yticks([])
    axes[0].set_title(f"{name}: {shown} of {f['model'].attrs['n']} neurons, trajectory 0")
    for c in range(latent.shape[1]):
        line, = axes[1].plot(t, latent[:, c], lw=1, label=f"{names[c]} network")
        axes[1].plot(t, target[:, c], lw=1, ls="--", color=line.get_color(),
                     label=f"{names[c]} target")
    axes[1].set_xlabel("t")
    axes[1].set_ylabel("latent read-out z")
    axes[1].legend(fontsize=7, ncol=latent.shape[1], loc="upper right")
    fig.tight_layout()
    path = os.path.join(out, "run_traces.png")
    fig.savefig(path, dpi=130)
    plt.close(fig)
    return path


def plot_latent(f, name, out):
    sim = f["simulate"]
    k = sim["latent"].shape[2]
    shown = min(8, sim["latent"].shape[0])
    names = [v.strip() for v in text(f["system"].attrs["vars"]).split(",")]
    three = k >= 3
    fig = plt.figure(figsize=(10, 4.8))
    for panel, (key, title) in enumerate([("latent", "network read-out"),
                                          ("target_latent", "coupled target")]):
        data = sim[key][:shown]
        ax = fig.add_subplot(1, 2, panel + 1, projection="3d" if three else None)
        for b in range(shown):
            z = data[b]
            if three:
                ax.plot(z[:, 0], z[:, 1], z[:, 2], lw=0.4)
            else:
                ax.plot(z[:, 0], z[:, 1] if k > 1 else np.arange(len(z)), lw=0.4)
        ax.set_xlabel(names[0])
        if k > 1:
            ax.set_ylabel(names[1])
        if three:
            ax.set_zlabel(names[2])
        ax.set_title(f"{name}: {title}, {shown} trajectories")
    fig.tight_layout()
    path = os.path.join(out, "run_latent.png")
    fig.savefig(path, dpi=130)
    plt.close(fig)
    return path


def plot_train(f, name, out):
    if "train" not in f or f["train/loss"].shape[0] == 0:
        return None
    loss = f["train/loss"][:]
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.semilogy(np.arange(1, len(loss) + 1), loss)
    ax.set_xlabel("epoch")
    ax.set_ylabel("training loss (normalised units)")
    eps = f["train"].attrs["drift_rel_err"]
    ax.set_title(f"{name}: held-out drift error ε_f = {100 * eps:.3g} %")
    fig.tight_layout()
    path = os.path.join(out, "run_train.png")
    fig.savefig(path, dpi=130)
    plt.close(fig)
    return path


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("run", help="HDF5 file written by ddm_gpu")
    parser.add_argument("--out", help="folder for the PNGs (default: beside the file, "
                        "prefixed with its name)")
    args = parser.parse_args()
    stem = os.path.splitext(os.path.basename(args.run))[0]
    out = args.out or os.path.join(os.path.dirname(os.path.abspath(args.run)), stem + "_plots")
    os.makedirs(out, exist_ok=True)
    with h5py.File(args.run, "r") as f:
        if not int(f.attrs.get("complete", 0)):
            print(f"note: {args.run} is marked incomplete (the run stopped early)",
                  file=sys.stderr)
        name = text(f["system"].attrs["name"])
        written = [p for p in (plot_train(f, name, out),
                               plot_traces(f, name, out) if "simulate" in f else None,
                               plot_latent(f, name, out) if "simulate" in f else None) if p]
    for p in written:
        print(p)


if __name__ == "__main__":
    main()
