#!/usr/bin/env python3
"""Figures of a ddm_gpu run file (h5py + matplotlib), written as PNGs next to the file.

    python3 scripts/plot.py RUN.h5 [--out DIR] [--plane I,J]

run_traces.png         neuron traces of one trajectory above its latent path, network and
                       coupled target overlaid (the paper's Figs 1-2)
run_latent.png         the latent attractor of several trajectories, network beside target
                       (with the fixed points of /analysis/fixed_points when present)
run_train.png          training loss per epoch, with the held-out drift error in the title
and, when the file has /analysis (the analyze stage):
run_pca.png            explained variance, states in the top PCs, latent coordinates recovered
                       from the PCs (Fig 4)
run_decomposition.png  drift f, its symmetric part over the Hopfield energy, its antisymmetric
                       part (Fig 3); for k = 3 three planes through the visited region's mean;
                       fixed points projected on each plane
run_hhd.png            stationary density with the reversible f_rev and irreversible f_irr
                       streamlines, network and target, entropy production in the titles; for
                       k = 3 projected on a plane (density-weighted averages over the third axis)
run_marginals.png      stationary marginals, network vs target, with the Wasserstein distances
run_lyapunov.png       Lyapunov spectra of the noise-free latent flows, network vs target
and for a wells system (memory, scripts/plot_memory.py):
run_landscape.png      the landscape V and the tilted V - u.z of the first cue (Fig 5)
run_occupancy.png      which well a few paths are in over time, cue windows shaded
run_transitions.png    well-to-well transition counts, with recall and cycling figures

On Debian use /usr/bin/python3 (it sees python3-h5py and python3-matplotlib).
"""
import argparse
import configparser
import os
import sys

import h5py
import matplotlib
import matplotlib.ticker

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from plot_memory import plot_landscape, plot_occupancy, plot_transitions  # noqa: E402


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
        if "analysis/fixed_points" in f:
            draw_fixed_points(f, ax, tuple(range(min(k, 3))), (("rnn", "target")[panel],))
            ax.legend(fontsize=7, loc="upper right")
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


def var_names(f):
    return [v.strip() for v in text(f["system"].attrs["vars"]).split(",")]


def config_value(f, section, key, default):
    """A value of the configuration the analysis ran with (/analysis attribute config), else the
    run's (root attribute config)."""
    parser = configparser.ConfigParser(interpolation=None, inline_comment_prefixes=None)
    source = f["analysis"].attrs if "analysis" in f else f.attrs
    try:
        parser.read_string(text(source["config"]))
        return parser.get(section, key)
    except (KeyError, configparser.Error):
        return default


# Lines stamped at the foot of every figure (an incomplete run), and of the figures drawn from
# the stationary samples (which recorded times they used: /analysis attrs stationary_times).
STAMP = {"all": [], "stationary": []}


def save(fig, out, name):
    path = os.path.join(out, name)
    lines = STAMP["all"] + (STAMP["stationary"] if name in ("run_hhd.png", "run_marginals.png")
                            else [])
    if lines:
        fig.subplots_adjust(bottom=max(fig.subplotpars.bottom, 0.06 + 0.03 * len(lines)))
        fig.text(0.01, 0.005, "\n".join(lines), fontsize=7, va="bottom", ha="left",
                 color="firebrick" if STAMP["all"] else "0.3")
    fig.savefig(path, dpi=130)
    plt.close(fig)
    return path


def plot_pca(f, name, out):
    if "analysis/pca" not in f:
        return None
    pca = f["analysis/pca"]
    ev = pca["explained_variance"][:]
    k = pca["principal_angles_deg"].shape[0]
    angle = pca["principal_angles_deg"][:].max()
    r2 = pca.attrs["recovery_r2"]
    pc, latent, recovered = pca["pc_coordinates"][:], pca["latent"][:], pca["recovered"][:]
    names = var_names(f)
    floor = 1e-16
    fig = plt.figure(figsize=(16, 4.8))
    ax = fig.add_subplot(1, 3, 1)
    index = np.arange(1, len(ev) + 1)
    ax.bar(index, np.maximum(ev, floor), color=["C0" if i <= k else "C7" for i in index])
    ax.set_yscale("log")
    ax.set_ylim(floor / 3, 3)
    ax.axhline(pca.attrs["significant_threshold"], color="k", lw=0.8, ls=":")
    ax.text(len(ev), pca.attrs["significant_threshold"] * 2, "threshold", ha="right", fontsize=8)
    ax.set_xlabel("principal component")
    ax.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True))
    ax.set_ylabel(f"share of the variance (clipped at {floor:g})")
    ax.set_title(f"a) {pca.attrs['significant_components']} non-zero components "
                 f"(k = {k}), {pca.attrs['states']} states")
    three = k >= 3
    ax = fig.add_subplot(1, 3, 2, projection="3d" if three else None)
    for b in range(min(8, pc.shape[0])):
        if three:
            ax.plot(pc[b, :, 0], pc[b, :, 1], pc[b, :, 2], lw=0.6)
        else:
            ax.plot(pc[b, :, 0], pc[b, :, 1] if k > 1 else np.zeros(pc.shape[1]), lw=0.6)
    labels = [f"PC{j + 1} ({100 * ev[j]:.1f} %)" for j in range(min(k, 3))]
    ax.set_xlabel(labels[0])
    if k > 1:
        ax.set_ylabel(labels[1])
    if three:
        ax.set_zlabel(labels[2])
    ax.set_title("b) network states in the top PCs: the affine subspace")
    ax = fig.add_subplot(1, 3, 3)
    every = float(config_value(f, "analysis", "pca_every", 1)) * \
        float(config_value(f, "simulate", "dt", 1))
    t = np.arange(latent.shape[1]) * every
    for c in range(k):
        line, = ax.plot(t, latent[0, :, c], lw=1.6, alpha=0.6, label=f"{names[c]} read-out")
        ax.plot(t, recovered[0, :, c], lw=0.9, ls="--", color="k")
    ax.plot([], [], lw=0.9, ls="--", color="k", label="recovered from PCs")
    ax.set_xlabel("t")
    ax.set_ylabel("latent coordinate")
    ax.legend(fontsize=7, loc="upper right")
    ax.set_title(f"c) latent z recovered from the PCs, z = μ + s⊙(A·PC + c)\n"
                 f"R² = {r2:.6f}, largest principal angle to range Γ̂ {angle:.2g}°", fontsize=10)
    fig.suptitle(f"{name}: PCA of neuron-space states")
    fig.tight_layout()
    return save(fig, out, "run_pca.png")


def plane_slices(grid_group, k):
    """(a, b, held, index) per plotted plane of a 2-D or 3-D analysis grid."""
    d = sum(1 for key in grid_group if key.startswith("axis"))
    if d == 2:
        return d, [(0, 1, None, None)]
    if d != 3:
        return d, []
    at = grid_group["at"][:] if "at" in grid_group else None
    planes = []
    for a, b, held in ((0, 1, 2), (0, 2, 1), (1, 2, 0)):
        axis = grid_group[f"axis{held}"][:]
        coordinate = grid_group[f"axis{held}"].attrs["coordinate"]
        value = at[coordinate] if at is not None else axis.mean()
        planes.append((a, b, held, int(np.argmin(np.abs(axis - value)))))
    return d, planes


def take_plane(field, held, index):
    return field if held is None else np.take(field, index, axis=held)


def attractor_points(f, coords, held_coord, held_value, width):
    """Recorded network samples near the plane (all of them for a 2-D grid), for context."""
    if "simulate/latent" not in f or f["simulate/latent"].shape[1] == 0:
        return None
    z = f["simulate/latent"][:16, ::5].reshape(-1, f["simulate/latent"].shape[2])
    if held_coord is not None:
        z = z[np.abs(z[:, held_coord] - held_value) < width]
    return z[:, coords[0]], z[:, coords[1]]


# marker per fixed-point type code (/analysis/fixed_points/*/type): stable ●, unstable ▲,
# saddle ✕, non-hyperbolic ■
FIXED_MARKERS = {0: "o", 1: "o", 2: "^", 3: "^", 4: "X", 5: "X", 6: "s"}


def draw_fixed_points(f, ax, coords, flows=("rnn", "target"), labels=True):
    """Fixed points of /analysis/fixed_points, when the file has them, projected on the axes'
    coordinates (2 or 3; 1: vertical lines): network filled (black matched, red spurious),
    target open blue; `labels`: legend entries for both."""
    if "analysis/fixed_points" not in f:
        return
    for flow in flows:
        g = f[f"analysis/fixed_points/{flow}"]
        z, types, match = g["points"][:], g["type"][:], g["match"][:]
        for i in range(z.shape[0]):
            network = flow == "rnn"
            color = ("C3" if match[i] < 0 else "k") if network else "C0"
            style = dict(marker=FIXED_MARKERS.get(int(types[i]), "s"), ms=8 if network else 12,
                         mfc=color if network else "none", mec=color, mew=1.5, ls="none")
            if len(coords) == 1:
                ax.axvline(z[i, coords[0]], color=color, lw=1, ls="-" if network else "--")
            else:
                ax.plot(*[z[i:i + 1, c] for c in coords], **style)
    if labels:
        ax.plot([], [], "o", mfc="k", mec="k", ls="none", label="network fixed points (red: "
                "spurious)")
        ax.plot([], [], "o", mfc="none", mec="C0", ls="none", label="target fixed points")


def stream(ax, x, y, u, v, color, density=1.1):
    speed = np.hypot(u, v)
    if not np.isfinite(speed).any():
        return
    ax.streamplot(x, y, u.T, v.T, color=color, density=density, linewidth=0.8, arrowsize=0.8)


def plot_decomposition(f, name, out):
    if "analysis/decomposition" not in f:
        return None
    g = f["analysis/decomposition"]
    k = g["f"].shape[-1]
    d, planes = plane_slices(g, k)
    if not planes:
        return None
    energy, fields = g["energy"][:], [g["f"][:], g["f_sym"][:], g["f_asym"][:]]
    titles = ["drift f = f_sym + f_asym", "symmetric part f_sym over the energy E",
              "antisymmetric part f_asym"]
    fig, axes = plt.subplots(len(planes), 3, figsize=(16, 4.6 * len(planes)), squeeze=False)
    for row, (a, b, held, index) in enumerate(planes):
        x, y = g[f"axis{a}"][:], g[f"axis{b}"][:]
        ca, cb = g[f"axis{a}"].attrs["coordinate"], g[f"axis{b}"].attrs["coordinate"]
        va, vb = text(g[f"axis{a}"].attrs["variable"]), text(g[f"axis{b}"].attrs["variable"])
        where = ""
        held_coord = held_value = width = None
        if held is not None:
            axis_h = g[f"axis{held}"][:]
            held_coord = g[f"axis{held}"].attrs["coordinate"]
            held_value = axis_h[index]
            width = 0.05 * (axis_h[-1] - axis_h[0])
            where = f", slice {text(g[f'axis{held}'].attrs['variable'])} = {held_value:.3g}"
        e = take_plane(energy, held, index)
        points = attractor_points(f, (ca, cb), held_coord, held_value, width)
        for col in range(3):
            ax = axes[row, col]
            field = take_plane(fields[col], held, index)
            u, v = field[..., ca], field[..., cb]
            if col == 1:
                # the corners of a wide grid hold extreme energies: levels over the middle 96 %
                levels = matplotlib.ticker.MaxNLocator(20).tick_values(
                    *np.nanpercentile(e, [2, 98]))
                filled = ax.contourf(x, y, e.T, levels=levels, cmap="viridis", extend="both")
                ax.contour(x, y, e.T, levels=levels, colors="k", linewidths=0.4)
                fig.colorbar(filled, ax=ax, label="Hopfield energy E (isolines)")
                stream(ax, x, y, u, v, "white")
            else:
                speed = np.hypot(u, v)
                mesh = ax.pcolormesh(x, y, speed.T, cmap="Greys", shading="auto", alpha=0.6)
                fig.colorbar(mesh, ax=ax, label="speed |·| in the plane")
                stream(ax, x, y, u, v, "C3" if col == 2 else "C0")
            if points is not None:
                ax.plot(points[0], points[1], ".", ms=0.6, color="C1", alpha=0.35,
                        label="network samples" + (" near the slice" if held is not None else ""))
            draw_fixed_points(f, ax, (ca, cb), labels=False)
            ax.set_xlim(x[0], x[-1])
            ax.set_ylim(y[0], y[-1])
            ax.set_xlabel(va)
            ax.set_ylabel(vb)
            ax.set_title(titles[col] + where, fontsize=10)
        if points is not None:
            axes[row, 0].legend(fontsize=7, loc="upper right", markerscale=12)
    fig.suptitle(f"{name}: symmetric/asymmetric split of W = Γ̂Ŵ_s on the latent manifold "
                 f"(residual {g.attrs['split_residual']:.1g})")
    fig.tight_layout()
    return save(fig, out, "run_decomposition.png")


def projected(group, plane):
    """Density and density-weighted fields on a plane: (x, y, p, f_rev, f_irr, labels)."""
    k = group["f_irr"].shape[-1]
    density = group["density"][:]
    fields = [np.nan_to_num(group[key][:]) for key in ("f_rev", "f_irr")]
    a, b = plane
    ca, cb = group[f"axis{a}"].attrs["coordinate"], group[f"axis{b}"].attrs["coordinate"]
    labels = [text(group[f"axis{a}"].attrs["variable"]), text(group[f"axis{b}"].attrs["variable"])]
    if k == 3:
        held = 3 - a - b
        step = np.diff(group[f"axis{held}"][:2])[0]
        p = density.sum(axis=held) * step
        flux = [(field * density[..., None]).sum(axis=held) * step for field in fields]
        with np.errstate(invalid="ignore", divide="ignore"):
            flows = [np.where(p[..., None] > 1e-3 * p.max(), q / p[..., None], np.nan)
                     for q in flux]
        labels.append(text(group[f"axis{held}"].attrs["variable"]))
    else:
        p = density
        flows = [np.where(np.isnan(group[key][:]), np.nan, group[key][:])
                 for key in ("f_rev", "f_irr")]
    return (group[f"axis{a}"][:], group[f"axis{b}"][:], p,
            [flow[..., [ca, cb]] for flow in flows], labels)


def plot_hhd(f, name, out, plane):
    if "analysis/hhd/rnn/density" not in f:
        return None
    hhd = f["analysis/hhd"]
    k = hhd["rnn/f_irr"].shape[-1]
    if k == 1:
        return None
    plane = plane if k == 3 else (0, 1)
    fig, axes = plt.subplots(2, 2, figsize=(13, 10.5))
    for row, (key, label) in enumerate((("rnn", "network"), ("target", "target"))):
        group = hhd[key]
        x, y, p, flows, labels = projected(group, plane)
        phi, err = group.attrs["entropy_production"], group.attrs["entropy_production_error"]
        for col, (flow, part, color) in enumerate(zip(flows, ("reversible f_rev = D∇log p + ∇·D",
                                                              "irreversible f_irr = J/p"),
                                                      ("C0", "C3"))):
            ax = axes[row, col]
            mesh = ax.pcolormesh(x, y, p.T, cmap="Greys", shading="auto")
            fig.colorbar(mesh, ax=ax, label="stationary density p" +
                         (f" (integrated over {labels[2]})" if k == 3 else ""))
            stream(ax, x, y, flow[..., 0], flow[..., 1], color, density=1.3)
            ax.set_xlabel(labels[0])
            ax.set_ylabel(labels[1])
            title = f"{label}: {part}"
            if col == 1:
                title += f"\nentropy production Φ = {phi:.4g} ± {err:.2g} nats/time"
            ax.set_title(title, fontsize=10)
            ax.set_xlim(x[0], x[-1])
            ax.set_ylim(y[0], y[-1])
    note = (f"; fields averaged over {labels[2]} with weight p" if k == 3 else "")
    fig.suptitle(f"{name}: Helmholtz–Hodge split of the stationary latent process{note}")
    fig.tight_layout()
    return save(fig, out, "run_hhd.png")


def plot_marginals(f, name, out):
    if "analysis/stats" not in f:
        return None
    st = f["analysis/stats"]
    edges, w1 = st["edges"][:], st["wasserstein"][:]
    names = var_names(f)
    k = edges.shape[0]
    fig, axes = plt.subplots(1, k, figsize=(4.6 * k, 3.8), squeeze=False)
    for c in range(k):
        ax = axes[0, c]
        for key, label, style in (("rnn", "network", "-"), ("target", "target", "--")):
            ax.stairs(st[key]["marginal"][c], edges[c], label=label, ls=style, lw=1.3)
        ax.set_xlabel(names[c])
        ax.set_ylabel("density")
        ax.set_title(f"{names[c]}: Wasserstein W₁ = {w1[c]:.3g}")
        ax.legend(fontsize=8)
    fig.suptitle(f"{name}: stationary marginals (after a burn-in of "
                 f"{100 * st.attrs['burn_in_fraction']:.0f} % of each trajectory)")
    fig.tight_layout()
    return save(fig, out, "run_marginals.png")


def plot_lyapunov(f, name, out):
    if "analysis/lyapunov" not in f:
        return None
    g = f["analysis/lyapunov"]
    k = g["rnn"].shape[0]
    fig, ax = plt.subplots(figsize=(6.5, 4.2))
    index = np.arange(1, k + 1)
    for shift, (key, label) in zip((-0.18, 0.18), (("rnn", "network"), ("target", "target"))):
        values, errors = g[key][:], g[f"{key}_error"][:]
        bars = ax.bar(index + shift, values, width=0.36, yerr=np.nan_to_num(errors), capsize=3,
                      label=f"{label} (D_KY = {g[key].attrs['kaplan_yorke_dimension']:.3g})")
        for bar, value in zip(bars, values):
            ax.annotate(f"{value:.3f}", (bar.get_x() + bar.get_width() / 2, value),
                        ha="center", va="bottom" if value >= 0 else "top", fontsize=8)
    ax.axhline(0, color="k", lw=0.6)
    ax.set_xticks(index, [f"λ{i}" for i in index])
    ax.set_ylabel("Lyapunov exponent (1/time)")
    ax.legend(fontsize=8)
    ax.set_title(f"{name}: spectra of the noise-free latent flows "
                 f"({g['rnn_starts'].shape[0]} starts, T = {g.attrs['steps'] * g.attrs['dt']:g})",
                 fontsize=10)
    fig.tight_layout()
    return save(fig, out, "run_lyapunov.png")


def refuse_missing_shards(path):
    """A merged file reads its /simulate through the shard files next to it; without them every
    row reads as NaN, so it is refused with a line naming the missing files (exit 2)."""
    with h5py.File(path, "r") as f:
        sources = text(f.attrs.get("merged_from", ""))
    folder = os.path.dirname(os.path.abspath(path))
    missing = [n for n in sources.split("\n") if n and not os.path.exists(os.path.join(folder, n))]
    if missing:
        print(f"error: {path} is merged from shards, and {', '.join(missing)} "
              f"{'are' if len(missing) > 1 else 'is'} not there (next to it): its /simulate would "
              "read as NaN; keep the shards with the merged file", file=sys.stderr)
        sys.exit(2)


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("run", help="HDF5 file written by ddm_gpu")
    parser.add_argument("--out", help="folder for the PNGs (default: beside the file, "
                        "prefixed with its name)")
    parser.add_argument("--plane", default="0,2", help="for k = 3, the two coordinates (0-based) "
                        "of the plane run_hhd.png projects on (default 0,2)")
    args = parser.parse_args()
    plane = tuple(int(v) for v in args.plane.split(","))
    stem = os.path.splitext(os.path.basename(args.run))[0]
    out = args.out or os.path.join(os.path.dirname(os.path.abspath(args.run)), stem + "_plots")
    os.makedirs(out, exist_ok=True)
    refuse_missing_shards(args.run)
    with h5py.File(args.run, "r") as f:
        if not int(f.attrs.get("complete", 0)):
            print(f"note: {args.run} is marked incomplete (the run stopped early)",
                  file=sys.stderr)
            STAMP["all"].append("INCOMPLETE RUN (complete = 0): the figures show only what was "
                                "written before it stopped")
        if "analysis" in f and "stationary_times" in f["analysis"].attrs:
            STAMP["stationary"].append("stationary samples: "
                                       + text(f["analysis"].attrs["stationary_times"]))
        name = text(f["system"].attrs["name"])
        written = [p for p in (plot_train(f, name, out),
                               plot_traces(f, name, out) if "simulate" in f else None,
                               plot_latent(f, name, out) if "simulate" in f else None,
                               plot_pca(f, name, out),
                               plot_decomposition(f, name, out),
                               plot_hhd(f, name, out, plane),
                               plot_marginals(f, name, out),
                               plot_lyapunov(f, name, out),
                               plot_landscape(f, name, out),
                               plot_occupancy(f, name, out),
                               plot_transitions(f, name, out)) if p]
    for p in written:
        print(p)


if __name__ == "__main__":
    main()
