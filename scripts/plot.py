#!/usr/bin/env python3
"""Figures of a ddm_gpu run file (h5py + matplotlib), named after the run: lorenz.h5 gives
lorenz_latent.png, lorenz_summary.png, ... (--format png|pdf|svg, --dpi).

    python3 scripts/plot.py RUN.h5 [--out DIR] [--format pdf] [--dpi 300] [--plane I,J]

NAME_summary     one page in the layout of the paper's Figs 1-5: neuron traces and the latent
                 attractor (Figs 1c, 2), the symmetric part over the energy and the antisymmetric
                 part (Fig 3), the PCA (Fig 4) and, for a wells system, the tilted landscape (Fig 5)
NAME_traces      neuron traces of one trajectory (scale bar, labels in the traces' colours) above
                 its latent path, network solid and coupled target dashed on top (Figs 1-2)
NAME_latent      the latent attractor of several trajectories, network beside target
                 (with the fixed points of /analysis/fixed_points when present)
NAME_train       training loss per epoch, with the held-out drift error in the title
and, when the file has /analysis (the analyze stage):
NAME_pca         explained variance, states in the top PCs, latent coordinates recovered
                 from the PCs (Fig 4)
NAME_decomposition  drift f, its symmetric part over the Hopfield energy, its antisymmetric
                 part (Fig 3); for k = 3 three planes through the visited region's mean;
                 fixed points projected on each plane
NAME_hhd         stationary density with the reversible f_rev and irreversible f_irr
                 streamlines, network and target, entropy production in the titles; for
                 k = 3 projected on a plane (density-weighted averages over the third axis)
NAME_marginals   stationary marginals, network vs target, with the Wasserstein distances
NAME_lyapunov    Lyapunov spectra of the noise-free latent flows, network vs target: symlog
                 bars with standard errors, and the values in a table
and for a wells system (memory, scripts/plot_memory.py):
NAME_landscape   the landscape V and the tilted V - u.z of the first cue (Fig 5)
NAME_occupancy   which well a few paths are in over time (cyclic colours), cue windows shaded,
                 and the well index of three paths, where the order of visits reads directly
NAME_transitions well-to-well transition counts, with recall and cycling figures

Every axis is named with the system's variable names (/system/variables); the grid figures are
zoomed to the region the process visits and their colour ranges taken there.
On Debian use /usr/bin/python3 (it sees python3-h5py and python3-matplotlib).
"""
import argparse
import configparser
import os
import sys

import h5py
import matplotlib
import matplotlib.colors
import matplotlib.ticker

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import plot_memory  # noqa: E402
from plot_memory import (draw_landscape, landscape_panels, plot_landscape,  # noqa: E402
                         plot_occupancy, plot_transitions)

# Where and how the figures are written (main sets them from the command line): OUT/STEM_key.FORMAT
OUTPUT = {"out": ".", "stem": "run", "format": "png", "dpi": 150}


def text(value):
    return value.decode() if isinstance(value, bytes) else str(value)


def var_names(f):
    """The system's variable names: /system/variables, or the `vars` string of older files."""
    if "system/variables" in f:
        return [text(v) for v in f["system/variables"][()]]
    return [v.strip() for v in text(f["system"].attrs["vars"]).split(",")]


def latent_sample(f, key="latent", trajectories=64, times=2000):
    """(samples, k) finite states of /simulate/<key>: a few trajectories, evenly thinned times."""
    if f"simulate/{key}" not in f or f[f"simulate/{key}"].shape[1] == 0:
        return None
    data = f[f"simulate/{key}"]
    step = max(1, data.shape[1] // times)
    z = data[:trajectories, ::step].reshape(-1, data.shape[2])
    z = z[np.isfinite(z).all(axis=1)]
    return z if len(z) else None


def visited_range(f, coordinate, margin=0.12):
    """(lo, hi) of latent coordinate `coordinate` over the recorded paths (0.5-99.5 %), widened
    by `margin` of the span on each side; None without recorded paths."""
    z = latent_sample(f)
    if z is None:
        return None
    lo, hi = np.quantile(z[:, coordinate], [0.005, 0.995])
    pad = margin * max(hi - lo, 1e-9)
    return lo - pad, hi + pad


def zoom(ax, x, y, xr, yr):
    """Axis limits: the grid, cut to the visited ranges xr, yr where those lie inside it."""
    lo_x, hi_x = (x[0], x[-1]) if xr is None else (max(x[0], xr[0]), min(x[-1], xr[1]))
    lo_y, hi_y = (y[0], y[-1]) if yr is None else (max(y[0], yr[0]), min(y[-1], yr[1]))
    ax.set_xlim(lo_x, hi_x)
    ax.set_ylim(lo_y, hi_y)
    return (x >= lo_x) & (x <= hi_x), (y >= lo_y) & (y <= hi_y)


def draw_neuron_traces(f, ax, shown=5):
    """Traces of `shown` neurons of trajectory 0, stacked, each label in its trace's colour, with
    a vertical scale bar in units of the neuron state x."""
    sim = f["simulate"]
    t, traces, neurons = sim["t"][:], sim["traces"], sim["trace_neurons"][:]
    shown = min(shown, traces.shape[2])
    x = traces[0, :, :shown]
    spread = np.nanstd(x, axis=0) + 1e-9
    gap = 3 * np.nanmax(spread)
    for j in range(shown):
        offset = -j * gap
        line, = ax.plot(t, x[:, j] - np.nanmean(x[:, j]) + offset, lw=0.8)
        ax.text(t[-1] + 0.01 * (t[-1] - t[0]), offset, f"neuron {neurons[j]}", fontsize=7,
                va="center", color=line.get_color())
    bar = float(f"{gap / 2:.1g}")  # one significant digit: 0.5, 2, ...
    x0 = t[0] - 0.02 * (t[-1] - t[0])
    ax.plot([x0, x0], [gap / 2 - bar, gap / 2], color="k", lw=2, clip_on=False)
    ax.text(x0, gap / 2 - bar / 2, f"{bar:g} x ", ha="right", va="center", fontsize=7)
    ax.set_yticks([])
    for side in ("left", "right", "top"):
        ax.spines[side].set_visible(False)
    ax.set_title(f"{shown} of {f['model'].attrs['n']} neurons (state x), trajectory 0",
                 fontsize=10)


def draw_latent_paths(f, ax):
    """The latent path of trajectory 0: network solid, coupled target dashed in a darker shade
    of the same colour and on top (visible where the two coincide)."""
    sim, names = f["simulate"], var_names(f)
    t, latent, target = sim["t"][:], sim["latent"][0], sim["target_latent"][0]
    for c in range(latent.shape[1]):
        line, = ax.plot(t, latent[:, c], lw=1.0, alpha=0.8, label=names[c])
        darker = 0.55 * np.array(matplotlib.colors.to_rgb(line.get_color()))
        ax.plot(t, target[:, c], lw=0.9, ls=(0, (3, 2)), color=darker, zorder=3)
    ax.plot([], [], color="0.3", lw=1.0, label="network (solid)")
    ax.plot([], [], color="0.3", lw=0.9, ls=(0, (3, 2)), label="target (dashed, darker)")
    ax.set_xlabel("t")
    ax.set_ylabel("latent read-out")
    ax.legend(fontsize=7, ncol=latent.shape[1] + 2, loc="upper right")


def plot_traces(f, name, out):
    traces = f["simulate/traces"]
    if traces.shape[0] == 0 or traces.shape[2] == 0 or traces.shape[1] == 0:
        return None
    fig, axes = plt.subplots(2, 1, figsize=(9, 6), sharex=True,
                             gridspec_kw={"height_ratios": [3, 2]})
    draw_neuron_traces(f, axes[0])
    axes[0].set_title(f"{name}: " + axes[0].get_title(), fontsize=10)
    draw_latent_paths(f, axes[1])
    fig.tight_layout()
    return save(fig, "traces")


def draw_attractor(f, ax, key, shown=8):
    """Latent paths of `shown` trajectories of /simulate/<key> (3-D axes for k >= 3)."""
    data = f[f"simulate/{key}"][:shown]
    k, names = data.shape[2], var_names(f)
    for b in range(data.shape[0]):
        z = data[b]
        if k >= 3:
            ax.plot(z[:, 0], z[:, 1], z[:, 2], lw=0.4)
        else:
            ax.plot(z[:, 0], z[:, 1] if k > 1 else np.arange(len(z)), lw=0.4)
    ax.set_xlabel(names[0])
    ax.set_ylabel(names[1] if k > 1 else "recorded time")
    if k >= 3:
        ax.set_zlabel(names[2], labelpad=6)
        ax.set_box_aspect(None, zoom=0.85)  # room for the z label inside the axes' box
    if "analysis/fixed_points" in f:
        draw_fixed_points(f, ax, tuple(range(min(k, 3))),
                          ("rnn" if key == "latent" else "target",))
        ax.legend(fontsize=7, loc="upper right")


def plot_latent(f, name, out):
    sim = f["simulate"]
    if sim["latent"].shape[1] == 0:
        return None
    k, shown = sim["latent"].shape[2], min(8, sim["latent"].shape[0])
    fig = plt.figure(figsize=(11, 5))
    for panel, (key, title) in enumerate([("latent", "network read-out"),
                                          ("target_latent", "coupled target")]):
        ax = fig.add_subplot(1, 2, panel + 1, projection="3d" if k >= 3 else None)
        draw_attractor(f, ax, key, shown)
        ax.set_title(f"{name}: {title}, {shown} trajectories", fontsize=10)
    fig.tight_layout()
    return save(fig, "latent")


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
    return save(fig, "train")


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


def save(fig, key):
    """Writes OUT/STEM_key.FORMAT, stamped (STAMP); the bounding box takes in every label (the
    z label of 3-D axes too)."""
    path = os.path.join(OUTPUT["out"], f"{OUTPUT['stem']}_{key}.{OUTPUT['format']}")
    lines = STAMP["all"] + (STAMP["stationary"] if key in ("hhd", "marginals", "summary")
                            else [])
    if lines:
        fig.text(0.01, -0.01, "\n".join(lines), fontsize=7, va="top", ha="left",
                 color="firebrick" if STAMP["all"] else "0.3")
    fig.savefig(path, dpi=OUTPUT["dpi"], bbox_inches="tight", pad_inches=0.15)
    plt.close(fig)
    return path


def draw_variance(f, ax, floor=1e-16):
    """Share of the variance per principal component, log scale; the first k in colour."""
    pca = f["analysis/pca"]
    ev, k = pca["explained_variance"][:], pca["principal_angles_deg"].shape[0]
    index = np.arange(1, len(ev) + 1)
    ax.bar(index, np.maximum(ev, floor), color=["C0" if i <= k else "C7" for i in index])
    ax.set_yscale("log")
    ax.set_ylim(floor / 3, 3)
    ax.axhline(pca.attrs["significant_threshold"], color="k", lw=0.8, ls=":")
    ax.text(len(ev), pca.attrs["significant_threshold"] * 2, "threshold", ha="right", fontsize=8)
    ax.set_xlabel("principal component")
    ax.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True))
    ax.set_ylabel(f"share of the variance (clipped at {floor:g})")
    ax.set_title(f"{pca.attrs['significant_components']} non-zero components (k = {k}), "
                 f"{pca.attrs['states']} states", fontsize=10)


def draw_pc_states(f, ax):
    pca = f["analysis/pca"]
    ev, k, pc = pca["explained_variance"][:], pca["principal_angles_deg"].shape[0], \
        pca["pc_coordinates"][:]
    for b in range(min(8, pc.shape[0])):
        if k >= 3:
            ax.plot(pc[b, :, 0], pc[b, :, 1], pc[b, :, 2], lw=0.6)
        else:
            ax.plot(pc[b, :, 0], pc[b, :, 1] if k > 1 else np.zeros(pc.shape[1]), lw=0.6)
    labels = [f"PC{j + 1} ({100 * ev[j]:.1f} %)" for j in range(min(k, 3))]
    ax.set_xlabel(labels[0])
    if k > 1:
        ax.set_ylabel(labels[1])
    if k >= 3:
        ax.set_zlabel(labels[2], labelpad=6)
        ax.set_box_aspect(None, zoom=0.85)
    ax.set_title("network states in the top PCs: the affine subspace", fontsize=10)


def draw_recovery(f, ax):
    """Latent read-out of one trajectory and the same recovered from the PCs (dashed, on top)."""
    pca = f["analysis/pca"]
    k, names = pca["principal_angles_deg"].shape[0], var_names(f)
    latent, recovered = pca["latent"][:], pca["recovered"][:]
    every = float(config_value(f, "analysis", "pca_every", 1)) * \
        float(config_value(f, "simulate", "dt", 1))
    t = np.arange(latent.shape[1]) * every
    for c in range(k):
        line, = ax.plot(t, latent[0, :, c], lw=2.2, alpha=0.45, label=f"{names[c]} read-out")
        ax.plot(t, recovered[0, :, c], lw=0.9, ls="--", color=line.get_color(), zorder=3)
    ax.plot([], [], lw=0.9, ls="--", color="0.3", label="recovered from PCs")
    ax.set_xlabel("t")
    ax.set_ylabel("latent coordinate")
    ax.legend(fontsize=7, loc="upper right")
    ax.set_title(f"latent recovered from the PCs, z = μ + s⊙(A·PC + c), "
                 f"R² = {pca.attrs['recovery_r2']:.6f}", fontsize=10)


def plot_pca(f, name, out):
    if "analysis/pca" not in f:
        return None
    pca = f["analysis/pca"]
    k = pca["principal_angles_deg"].shape[0]
    angle = pca["principal_angles_deg"][:].max()
    fig = plt.figure(figsize=(17, 4.8))
    draw_variance(f, fig.add_subplot(1, 3, 1))
    draw_pc_states(f, fig.add_subplot(1, 3, 2, projection="3d" if k >= 3 else None))
    draw_recovery(f, fig.add_subplot(1, 3, 3))
    for ax, letter in zip(fig.axes, "abc"):
        ax.set_title(f"{letter}) " + ax.get_title(), fontsize=10)
    fig.suptitle(f"{name}: PCA of neuron-space states (largest principal angle to range Γ̂ "
                 f"{angle:.2g}°)")
    fig.tight_layout()
    return save(fig, "pca")


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


SPLIT_TITLES = ["drift f = f_sym + f_asym", "symmetric part f_sym over the energy E",
                "antisymmetric part f_asym"]


def draw_split(f, fig, ax, col, plane):
    """One panel of the split on one plane (a, b, held, index): col 0 f, 1 f_sym over the energy,
    2 f_asym; zoomed to the visited region, colours ranged over it."""
    g = f["analysis/decomposition"]
    a, b, held, index = plane
    x, y = g[f"axis{a}"][:], g[f"axis{b}"][:]
    ca, cb = g[f"axis{a}"].attrs["coordinate"], g[f"axis{b}"].attrs["coordinate"]
    names = var_names(f)
    where, held_coord, held_value, width = "", None, None, None
    if held is not None:
        axis_h = g[f"axis{held}"][:]
        held_coord = g[f"axis{held}"].attrs["coordinate"]
        held_value = axis_h[index]
        width = 0.05 * (axis_h[-1] - axis_h[0])
        where = f", slice {names[held_coord]} = {held_value:.3g}"
    inside_x, inside_y = zoom(ax, x, y, visited_range(f, ca), visited_range(f, cb))
    inside = np.outer(inside_x, inside_y)
    field = take_plane(g[("f", "f_sym", "f_asym")[col]][:], held, index)
    u, v = field[..., ca], field[..., cb]
    if col == 1:
        e = take_plane(g["energy"][:], held, index)
        levels = matplotlib.ticker.MaxNLocator(20).tick_values(
            *np.nanpercentile(e[inside], [1, 99]))
        filled = ax.contourf(x, y, e.T, levels=levels, cmap="viridis", extend="both")
        ax.contour(x, y, e.T, levels=levels, colors="k", linewidths=0.4)
        fig.colorbar(filled, ax=ax, label="Hopfield energy E (isolines)")
        stream(ax, x, y, u, v, "white")
    else:
        speed = np.hypot(u, v)
        mesh = ax.pcolormesh(x, y, speed.T, cmap="Greys", shading="auto", alpha=0.6,
                             vmin=0, vmax=np.nanpercentile(speed[inside], 99))
        fig.colorbar(mesh, ax=ax, label="speed in the plane", extend="max")
        stream(ax, x, y, u, v, "C3" if col == 2 else "C0")
    points = attractor_points(f, (ca, cb), held_coord, held_value, width)
    if points is not None:
        ax.plot(points[0], points[1], ".", ms=0.8, color="C1", alpha=0.35,
                label="network samples" + (" near the slice" if held is not None else ""))
    draw_fixed_points(f, ax, (ca, cb), labels=False)
    ax.set_xlabel(names[ca])
    ax.set_ylabel(names[cb])
    ax.set_title(SPLIT_TITLES[col] + where, fontsize=10)
    return points is not None


def plot_decomposition(f, name, out):
    if "analysis/decomposition" not in f:
        return None
    g = f["analysis/decomposition"]
    d, planes = plane_slices(g, g["f"].shape[-1])
    if not planes:
        return None
    fig, axes = plt.subplots(len(planes), 3, figsize=(16, 4.6 * len(planes)), squeeze=False)
    for row, plane in enumerate(planes):
        for col in range(3):
            samples = draw_split(f, fig, axes[row, col], col, plane)
        if samples:
            axes[row, 0].legend(fontsize=7, loc="upper right", markerscale=12)
    fig.suptitle(f"{name}: symmetric/asymmetric split of W = Γ̂Ŵ_s on the latent manifold "
                 f"(residual {g.attrs['split_residual']:.1g})")
    fig.tight_layout()
    return save(fig, "decomposition")


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


def density_zoom(ax, x, y, p, floor=1e-3, margin=0.1):
    """Axis limits: the box where the density exceeds `floor` of its peak, widened by `margin`."""
    mask = p > floor * np.nanmax(p)
    if not mask.any():
        return
    ix, iy = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    lo_x, hi_x, lo_y, hi_y = x[ix[0]], x[ix[-1]], y[iy[0]], y[iy[-1]]
    pad_x, pad_y = margin * (hi_x - lo_x + 1e-12), margin * (hi_y - lo_y + 1e-12)
    ax.set_xlim(max(x[0], lo_x - pad_x), min(x[-1], hi_x + pad_x))
    ax.set_ylim(max(y[0], lo_y - pad_y), min(y[-1], hi_y + pad_y))


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
            # a power scale: the wings of a peaked density (Dadras) stay visible
            mesh = ax.pcolormesh(x, y, p.T, cmap="Greys", shading="auto",
                                 norm=matplotlib.colors.PowerNorm(0.4, vmin=0))
            fig.colorbar(mesh, ax=ax, label="stationary density p, power scale" +
                         (f" (integrated over {labels[2]})" if k == 3 else ""))
            stream(ax, x, y, flow[..., 0], flow[..., 1], color, density=1.3)
            ax.set_xlabel(labels[0])
            ax.set_ylabel(labels[1])
            title = f"{label}: {part}"
            if col == 1:
                title += f"\nentropy production Φ = {phi:.4g} ± {err:.2g} nats/time"
            ax.set_title(title, fontsize=10)
            density_zoom(ax, x, y, p)
    note = (f"; fields averaged over {labels[2]} with weight p" if k == 3 else "")
    fig.suptitle(f"{name}: Helmholtz–Hodge split of the stationary latent process{note}")
    fig.tight_layout()
    return save(fig, "hhd")


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
    return save(fig, "marginals")


def plot_data_comparison(f, name, out):
    """([system] data) The power spectra of network and held-out data per coordinate, with D_H."""
    if "analysis/data_comparison/frequency" not in f:
        return None
    g = f["analysis/data_comparison"]
    freq, names, a = g["frequency"][:], var_names(f), g.attrs
    k = g["power_data"].shape[0]
    fig, axes = plt.subplots(1, k, figsize=(4.6 * k, 3.8), squeeze=False)
    for c in range(k):
        ax = axes[0, c]
        ax.loglog(freq, g["power_data"][c], label="held-out data", lw=1.3)
        ax.loglog(freq, g["power_network"][c], "--", label="network", lw=1.3)
        ax.set_xlabel("frequency (1/time)")
        ax.set_ylabel("normalised power")
        ax.set_title(f"{names[c]}: D_H = {g['hellinger'][c]:.3g}")
        ax.legend(fontsize=8)
    fig.suptitle(f"{name}: power spectra, network vs held-out data · D_H {a['hellinger_mean']:.3g} "
                 f"(data halves {a['hellinger_floor']:.3g}) · D_stsp {a['dstsp']:.3g} nats · "
                 f"Φ (SFI) data {a['phi_sfi_data']:.4g} vs network {a['phi_sfi_network']:.4g}",
                 fontsize=10)
    fig.tight_layout()
    return save(fig, "data_spectra")


def plot_lyapunov(f, name, out):
    """Symlog bars (λ₁ ≈ 0.9 and λ₃ ≈ -14 both readable) with standard errors, and a table."""
    if "analysis/lyapunov" not in f:
        return None
    g = f["analysis/lyapunov"]
    k = g["rnn"].shape[0]
    fig, (ax, table_ax) = plt.subplots(2, 1, figsize=(7, 5.2),
                                       gridspec_kw={"height_ratios": [3, 1]})
    index = np.arange(1, k + 1)
    spectra = {key: (g[key][:], np.nan_to_num(g[f"{key}_error"][:])) for key in ("rnn", "target")}
    magnitudes = np.abs(np.concatenate([v for v, _ in spectra.values()]))
    magnitudes = magnitudes[np.isfinite(magnitudes) & (magnitudes > 0)]
    linear = max(0.05, 0.5 * magnitudes.min()) if len(magnitudes) else 0.1
    for shift, (key, label) in zip((-0.18, 0.18), (("rnn", "network"), ("target", "target"))):
        values, errors = spectra[key]
        ax.bar(index + shift, values, width=0.36, yerr=errors, capsize=3,
               label=f"{label} (D_KY = {g[key].attrs['kaplan_yorke_dimension']:.3g})")
    ax.set_yscale("symlog", linthresh=linear)
    top = np.nanmax(np.abs(magnitudes)) if len(magnitudes) else 1.0
    decades = [10.0 ** j for j in range(int(np.ceil(np.log10(linear * 1.5))),
                                        int(np.ceil(np.log10(top))) + 1)]
    ax.yaxis.set_major_locator(matplotlib.ticker.FixedLocator(
        [-d for d in decades[::-1]] + [0] + decades))
    ax.axhline(0, color="k", lw=0.6)
    ax.axhspan(-linear, linear, color="0.92", zorder=0)
    ax.set_xticks(index, [f"λ{i}" for i in index])
    ax.set_ylabel(f"Lyapunov exponent (1/time)\nsymlog, linear within ±{linear:.2g}")
    ax.legend(fontsize=8)
    ax.set_title(f"{name}: spectra of the noise-free latent flows "
                 f"({g['rnn_starts'].shape[0]} starts, T = {g.attrs['steps'] * g.attrs['dt']:g})",
                 fontsize=10)
    table_ax.axis("off")
    cells = [[f"{v:.4g} ± {e:.2g}" for v, e in zip(*spectra[key])] for key in ("rnn", "target")]
    table = table_ax.table(cellText=cells, rowLabels=["network", "target"],
                           colLabels=[f"λ{i}" for i in index], loc="center", cellLoc="center")
    table.set_fontsize(9)
    fig.tight_layout()
    return save(fig, "lyapunov")


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


def plot_summary(f, name, out):
    """One page in the layout of the paper: a-b) neuron traces and the latent attractor (Figs 1c,
    2); c-e) the split, f_sym over the energy, f_asym, f (Fig 3); f-h) the PCA (Fig 4); i-j) the
    landscape and its tilt by the first cue (Fig 5, wells systems). Rows without data are left
    out."""
    sim = f["simulate"] if "simulate" in f else None
    rows = []
    if sim is not None and sim["traces"].shape[1] and sim["traces"].shape[2]:
        rows.append("paths")
    if "analysis/decomposition" in f and plane_slices(f["analysis/decomposition"], 0)[1]:
        rows.append("split")
    if "analysis/pca" in f:
        rows.append("pca")
    if "analysis/memory/landscape" in f:
        rows.append("landscape")
    if not rows:
        return None
    k = sim["latent"].shape[2] if sim is not None else f["system"].attrs["k"]
    projection = "3d" if k >= 3 else None
    fig = plt.figure(figsize=(17, 4.7 * len(rows)))
    grid = fig.add_gridspec(len(rows), 3)
    for row, what in enumerate(rows):
        if what == "paths":
            draw_neuron_traces(f, fig.add_subplot(grid[row, 0:2]))
            draw_attractor(f, fig.add_subplot(grid[row, 2], projection=projection), "latent")
            fig.axes[-1].set_title("network's latent read-out, 8 trajectories", fontsize=10)
        elif what == "split":
            plane = plane_slices(f["analysis/decomposition"], 0)[1][0]
            for col, which in enumerate((1, 2, 0)):
                draw_split(f, fig, fig.add_subplot(grid[row, col]), which, plane)
        elif what == "pca":
            draw_variance(f, fig.add_subplot(grid[row, 0]))
            draw_pc_states(f, fig.add_subplot(grid[row, 1], projection=projection))
            draw_recovery(f, fig.add_subplot(grid[row, 2]))
        else:
            for col, panel in enumerate(landscape_panels(f)):
                draw_landscape(f, fig, fig.add_subplot(grid[row, col]), panel, var_names(f))
    letters = iter("abcdefghijklmnop")
    for ax in fig.axes:
        if ax.get_title():
            ax.set_title(f"{next(letters)}) {ax.get_title()}", fontsize=10)
    fig.suptitle(f"{name}: " + ", ".join({"paths": "neurons and latent paths (Figs 1-2)",
                                          "split": "symmetric/antisymmetric split (Fig 3)",
                                          "pca": "PCA (Fig 4)",
                                          "landscape": "tilted landscape (Fig 5)"}[r]
                                         for r in rows), fontsize=12)
    fig.tight_layout(rect=(0, 0, 1, 0.985))
    return save(fig, "summary")


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("run", help="HDF5 file written by ddm_gpu")
    parser.add_argument("--out", help="folder for the figures (default: NAME_plots beside the "
                        "file)")
    parser.add_argument("--format", choices=("png", "pdf", "svg"), default="png",
                        help="file format of the figures (default png)")
    parser.add_argument("--dpi", type=float, default=150,
                        help="resolution of png figures and of the raster parts of pdf/svg "
                        "(default 150)")
    parser.add_argument("--plane", default="0,2", help="for k = 3, the two coordinates (0-based) "
                        "of the plane NAME_hhd projects on (default 0,2)")
    args = parser.parse_args()
    plane = tuple(int(v) for v in args.plane.split(","))
    stem = os.path.splitext(os.path.basename(args.run))[0]
    out = args.out or os.path.join(os.path.dirname(os.path.abspath(args.run)), stem + "_plots")
    os.makedirs(out, exist_ok=True)
    OUTPUT.update(out=out, stem=stem, format=args.format, dpi=args.dpi)
    plot_memory.SAVE = save
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
        written = [p for p in (plot_summary(f, name, out),
                               plot_train(f, name, out),
                               plot_traces(f, name, out) if "simulate" in f else None,
                               plot_latent(f, name, out) if "simulate" in f else None,
                               plot_pca(f, name, out),
                               plot_decomposition(f, name, out),
                               plot_hhd(f, name, out, plane),
                               plot_marginals(f, name, out),
                               plot_data_comparison(f, name, out),
                               plot_lyapunov(f, name, out),
                               plot_landscape(f, name, out),
                               plot_occupancy(f, name, out),
                               plot_transitions(f, name, out)) if p]
    for p in written:
        print(p)


if __name__ == "__main__":
    main()
