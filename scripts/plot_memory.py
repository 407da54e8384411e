"""Memory figures of a wells run (docs/design.md §6), used by plot.py (which names them after the run:
NAME_landscape.png, ...; alone they are run_*.png).

landscape    the landscape V and, for the first cue, the tilted V - u.z (the paper's Fig 5
             "labyrinth"), with the network's paths during that cue; each coloured over the
             range the paths visit
occupancy    which well each of a few paths is in over time, network above target, with the cue
             windows shaded, wells in cyclic colours; below, the well index of three paths
transitions  the well-to-well transition counts, network beside target, with the recall
             accuracy, the spontaneous switch rate and the cycle's forward/backward ratio
"""
import os

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.colors import ListedColormap


# plot.py's writer (names after the run, --format, --dpi): SAVE(fig, key); None: OUT/run_KEY.png
SAVE = None


def _save(fig, out, key):
    if SAVE is not None:
        return SAVE(fig, key)
    path = os.path.join(out, f"run_{key}.png")
    fig.savefig(path, dpi=130, bbox_inches="tight")
    plt.close(fig)
    return path


def _names(f):
    if "system/variables" in f:
        return [v.decode() if isinstance(v, bytes) else str(v) for v in f["system/variables"][()]]
    return [v.strip() for v in str(f["system"].attrs["vars"]).split(",")]


def _well_labels(ax, patterns, cued=None):
    for j, p in enumerate(patterns):
        ax.plot(p[0], p[1], "o", ms=9, mfc="white" if j != cued else "gold", mec="black")
        ax.annotate(str(j), p[:2], ha="center", va="center", fontsize=7, weight="bold")


def landscape_panels(f):
    """(title, field, cued well, cue window) of the landscape and of its tilt by the first cue."""
    g = f["analysis/memory/landscape"]
    x, y, V = g["axis0"][:], g["axis1"][:], g["potential"][:]
    cue_u, window = g["cue_u"][:], g["cue_window"][:]
    X, Y = np.meshgrid(x, y)
    panels = [("landscape V", V, None, None)]
    if len(cue_u):
        tilted = V - cue_u[0][0] * X - (cue_u[0][1] * Y if cue_u.shape[1] > 1 else 0)
        cues = f["analysis/memory/cue_pattern"]
        cued = int(cues[0]) if len(cues) else None
        panels.append((f"during the cue {window[0][0]:g}–{window[0][1]:g}: V − u·z", tilted, cued,
                       window[0]))
    return panels


def _visited_levels(f, x, y, V):
    """Contour levels from the minimum of V to its 95th percentile over the grid points the
    network's paths visit (the walls outside, and a tilt's far side, would take the whole
    colour range)."""
    z = f["simulate/latent"]
    sample = z[:32, ::max(1, z.shape[1] // 500), :2].reshape(-1, 2)
    sample = sample[np.isfinite(sample).all(axis=1)]
    visited = np.zeros(V.shape, bool)
    if len(sample):
        ix = np.clip(np.searchsorted(x, sample[:, 0]), 0, len(x) - 1)
        iy = np.clip(np.searchsorted(y, sample[:, 1]), 0, len(y) - 1)
        visited[iy, ix] = True
    top = np.percentile(V[visited], 95) if visited.sum() > 10 else np.percentile(V, 90)
    return np.linspace(V.min(), V.min() + max(top - V.min(), 1e-9), 25)


def draw_landscape(f, fig, ax, panel, names):
    g = f["analysis/memory/landscape"]
    x, y, patterns = g["axis0"][:], g["axis1"][:], g["patterns"][:]
    t, z = f["simulate/t"][:], f["simulate/latent"]
    title, field, cued, win = panel
    X, Y = np.meshgrid(x, y)
    levels = _visited_levels(f, x, y, field) - field.min()  # each panel its own range
    shifted = field - field.min()
    cs = ax.contourf(X, Y, shifted, levels=levels, cmap="viridis", extend="max")
    ax.contour(X, Y, shifted, levels=levels[::3], colors="white", linewidths=0.4)
    if win is not None:  # a few network paths from the cue's start to 2 time units after
        span = (t >= win[0]) & (t <= win[1] + 2)
        for b in range(min(6, z.shape[0])):
            path = z[b][span]
            ax.plot(path[:, 0], path[:, 1], color="orangered", lw=0.7, alpha=0.9)
            ax.plot(path[0, 0], path[0, 1], "x", color="orangered", ms=5)
        u = g["cue_u"][0]
        ax.annotate("", xy=(x[0] + 0.25 * (x[-1] - x[0]) + 0.3 * u[0] / np.linalg.norm(u),
                            y[-1] - 0.15 * (y[-1] - y[0]) + 0.3 * u[1] / np.linalg.norm(u)),
                    xytext=(x[0] + 0.25 * (x[-1] - x[0]), y[-1] - 0.15 * (y[-1] - y[0])),
                    arrowprops=dict(arrowstyle="->", color="white", lw=2))
        ax.text(x[0] + 0.05 * (x[-1] - x[0]), y[-1] - 0.08 * (y[-1] - y[0]), "cue u",
                color="white", fontsize=8)
    _well_labels(ax, patterns, cued)
    ax.set_title(title, fontsize=10)
    ax.set_xlabel(names[0])
    ax.set_ylabel(names[1])
    ax.set_xlim(x[0], x[-1])
    ax.set_ylim(y[0], y[-1])
    ax.set_aspect("equal")
    fig.colorbar(cs, ax=ax, shrink=0.8, label="energy − its minimum")


def plot_landscape(f, name, out):
    if "analysis/memory/landscape" not in f:
        return None
    panels = landscape_panels(f)
    fig, axes = plt.subplots(1, len(panels), figsize=(5.2 * len(panels), 4.6), squeeze=False)
    for ax, panel in zip(axes[0], panels):
        draw_landscape(f, fig, ax, panel, _names(f))
        ax.set_title(f"{name}: {ax.get_title()}", fontsize=9)
    fig.tight_layout()
    return _save(fig, out, "landscape")


def plot_occupancy(f, name, out):
    """Which well a few paths are in, network above target; wells coloured round a cyclic map
    (well j next to j+1, the last next to 0), so a cycle 0 → 1 → ... reads as a steady change of
    hue; below, the well index of three network paths over time, where the order of visits (and
    its direction) reads directly."""
    if "analysis/memory/occupancy" not in f:
        return None
    m = f["analysis/memory"]
    t = f["simulate/t"][:]
    K = m["transitions"].shape[0]
    rows = min(12, m["occupancy"].shape[0])
    cycle = plt.cm.hsv(np.arange(K) / K)  # saturated, cyclic: none looks like "in transit"
    colours = ListedColormap(np.vstack([[0.87, 0.87, 0.87, 1]] + list(cycle)))
    window = m["landscape/cue_window"][:] if "landscape" in m else np.zeros((0, 2))
    # with no cues, a stretch of about 15 switches per path, so the order of visits shows
    rate = m.attrs["spontaneous_switch_rate"]
    shown = len(t)
    if not len(window) and rate > 0 and 15 / rate < t[-1] - t[0]:
        shown = int(np.searchsorted(t, t[0] + 15 / rate))
    fig, axes = plt.subplots(3, 1, figsize=(10, 7.4), sharex=True,
                             gridspec_kw={"height_ratios": [2, 2, 1.6]})
    for ax, (label, group) in zip(axes, [("network", m), ("coupled target", m["target"])]):
        occ = group["occupancy"][:rows, :shown].astype(int) + 1  # 0 = in transit
        ax.imshow(occ, aspect="auto", interpolation="nearest", cmap=colours, vmin=0, vmax=K,
                  extent=(t[0], t[shown - 1], rows - 0.5, -0.5))
        for q, (start, end) in enumerate(window):
            ax.axvspan(start, end, color="black", alpha=0.15)
            if label == "network":
                cued = m["cue_pattern"][q] if q < len(m["cue_pattern"]) else None
                ax.text(start, -0.7, f"cue → {cued}" if cued is not None else "cue", fontsize=7,
                        va="bottom")
        ax.set_ylabel(f"{label}\npath")
    ax = axes[2]
    occ = m["occupancy"][:3, :shown].astype(float)
    for b in range(occ.shape[0]):
        well = np.where(occ[b] >= 0, occ[b], np.nan)  # in transit: a gap
        ax.step(t[:shown], well + 0.08 * (b - 1), where="post", lw=1.1, label=f"path {b}")
    for start, end in window:
        ax.axvspan(start, end, color="black", alpha=0.15)
    ax.set_yticks(range(K))
    ax.set_ylim(-0.5, K - 0.5)
    ax.set_ylabel("network\nwell")
    ax.legend(fontsize=7, loc="upper right", ncol=3)
    axes[-1].set_xlabel("t")
    handles = [plt.Rectangle((0, 0), 1, 1, color=colours(j + 1)) for j in range(K)]
    handles.append(plt.Rectangle((0, 0), 1, 1, color=colours(0)))
    fig.legend(handles, [f"well {j}" for j in range(K)] + ["in transit"], loc="upper right",
               ncol=K + 1, fontsize=7)
    span = "" if shown == len(t) else f", t ≤ {t[shown - 1]:.3g} of {t[-1]:.3g}"
    fig.suptitle(f"{name}: which well each path is in (first {rows} paths{span})", fontsize=10,
                 x=0.3)
    fig.tight_layout(rect=(0, 0, 1, 0.95))
    return _save(fig, out, "occupancy")


def _summary(group):
    a = group.attrs
    parts = []
    if np.isfinite(a["recall_accuracy"]):
        parts.append(f"recall {100 * a['recall_accuracy']:.1f} %")
    parts.append(f"spontaneous {a['spontaneous_switch_rate']:.3g}/t")
    if np.isfinite(a["forward_backward_ratio"]):
        parts.append(f"fwd/bwd {a['forward_backward_ratio']:.3g} ± "
                     f"{a['forward_backward_ratio_error']:.2g}")
    return ", ".join(parts)


def plot_transitions(f, name, out):
    if "analysis/memory/transitions" not in f:
        return None
    m = f["analysis/memory"]
    fig, axes = plt.subplots(1, 2, figsize=(10, 4.4))
    for ax, (label, group) in zip(axes, [("network", m), ("coupled target", m["target"])]):
        counts = group["transitions"][:]
        im = ax.imshow(counts, cmap="Blues")
        for i in range(counts.shape[0]):
            for j in range(counts.shape[1]):
                ax.text(j, i, str(counts[i, j]), ha="center", va="center", fontsize=8,
                        color="white" if counts[i, j] > 0.6 * counts.max() else "black")
        ax.set_xlabel("to well")
        ax.set_ylabel("from well")
        ax.set_xticks(range(counts.shape[0]))
        ax.set_yticks(range(counts.shape[0]))
        ax.set_title(f"{label}: {_summary(group)}", fontsize=8)
        fig.colorbar(im, ax=ax, shrink=0.8, label="transitions")
    fig.suptitle(f"{name}: well-to-well transitions (core sets, radius "
                 f"{m.attrs['well_radius']:.3g})", fontsize=10)
    fig.tight_layout()
    return _save(fig, out, "transitions")
