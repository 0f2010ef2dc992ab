"""Top-down floor-plan PNGs a person can read: rooms and their kinds, walls, doors, windows,
furniture footprints in their material colours, lights, and optionally camera paths."""

from __future__ import annotations

import io
from typing import Sequence

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.patches import Rectangle  # noqa: E402

from ..colour import linear_to_srgb  # noqa: E402
from .model import Scene  # noqa: E402

MAX_PLAN_PIXELS = 4096


def _footprint(obj) -> tuple[float, float, float, float]:
    b = obj.mesh.bounds()
    return float(b[0, 0]), float(b[0, 1]), float(b[1, 0] - b[0, 0]), float(b[1, 1] - b[0, 1])


def floorplan_figure(scene: Scene, paths: Sequence[dict] = (), dpi: int = 110):
    """A matplotlib figure of the plan. ``paths``: dicts with ``positions`` (T, 3), optional
    ``forward`` (T, 3) and ``label``; arrows show where the camera looks."""
    lo, hi = scene.bounds()[0], scene.bounds()[1]
    width, depth = float(hi[0] - lo[0]), float(hi[1] - lo[1])
    # One inch per metre, capped so that no side exceeds MAX_PLAN_PIXELS (a scene in the wrong
    # units once asked for a 44165 × 44110 px plan).
    inches = min(1.0, (MAX_PLAN_PIXELS / dpi - 1.5) / max(width, depth, 1e-9))
    fig, ax = plt.subplots(figsize=(max(6.0, width * inches) + 1.5, max(5.0, depth * inches) + 1.0), dpi=dpi)
    for obj in scene.objects:
        x, y, w, d = _footprint(obj)
        if obj.label == "floor":
            ax.add_patch(Rectangle((x, y), w, d, facecolor=linear_to_srgb(obj.material.base_color), alpha=0.25,
                                   edgecolor="none", zorder=0))
        elif obj.label == "wall":
            ax.add_patch(Rectangle((x, y), w, d, facecolor="#333333", edgecolor="none", zorder=3))
    # Walls are drawn as solid slabs; repaint openings so doors and windows read as gaps.
    for room in scene.rooms:
        x0, y0, x1, y1 = room.bounds
        t = room.wall_thickness
        for o in room.openings:
            color = "#ffffff" if o.kind == "door" else "#7fc8ff"
            if o.side in ("south", "north"):
                yy = y0 - t if o.side == "south" else y1
                rect = Rectangle((o.start, yy), o.end - o.start, t, facecolor=color, edgecolor="none", zorder=4)
            else:
                xx = x0 - t if o.side == "west" else x1
                rect = Rectangle((xx, o.start), t, o.end - o.start, facecolor=color, edgecolor="none", zorder=4)
            ax.add_patch(rect)
    furniture = [o for o in scene.objects if not o.structural and o.label not in ("ceiling light",)]
    for obj in sorted(furniture, key=lambda o: float(o.mesh.bounds()[1, 2])):
        x, y, w, d = _footprint(obj)
        face = linear_to_srgb(obj.material.base_color)
        ax.add_patch(Rectangle((x, y), w, d, facecolor=face, edgecolor="#222222", linewidth=0.5,
                               alpha=0.55 if obj.label == "rug" else 0.9, zorder=5))
    labelled = set()
    for obj in furniture:
        if obj.group in labelled or obj.label in ("lampshade", "books", "painting", "plant pot", "bedding", "countertop"):
            continue
        labelled.add(obj.group)
        x, y, w, d = _footprint(obj)
        ax.text(x + w / 2, y + d / 2, obj.label, fontsize=5.5, ha="center", va="center", zorder=7,
                bbox=dict(boxstyle="round,pad=0.1", fc="white", ec="none", alpha=0.6))
    for light in scene.lights:
        if light.kind in ("point", "spot"):
            ax.plot(light.position[0], light.position[1], marker="*", color="#ffb000", markersize=8,
                    markeredgecolor="#7a5200", zorder=8)
        elif light.kind == "area":
            x, y, w, d = _footprint(scene.object(light.object_id))
            ax.add_patch(Rectangle((x, y), w, d, facecolor="none", edgecolor="#ffb000", linewidth=1.2,
                                   linestyle="--", zorder=8))
    for room in scene.rooms:
        x0, y0, x1, y1 = room.bounds
        ax.text(x0 + 0.12, y1 - 0.12, f"room {room.room_id}: {room.kind}", fontsize=8, ha="left", va="top",
                weight="bold", zorder=9, bbox=dict(boxstyle="round,pad=0.2", fc="white", ec="#999999", alpha=0.85))
    for k, path in enumerate(paths):
        pos = np.asarray(path["positions"], dtype=np.float64)
        color = plt.cm.tab10(k % 10)
        ax.plot(pos[:, 0], pos[:, 1], "-", color=color, linewidth=1.8, zorder=10, label=path.get("label"))
        ax.plot(pos[0, 0], pos[0, 1], "o", color=color, markersize=5, zorder=11)
        fwd = path.get("forward")
        if fwd is not None:
            fwd = np.asarray(fwd, dtype=np.float64)
            step = max(1, len(pos) // 12)
            f2 = fwd[::step, :2] / np.maximum(np.linalg.norm(fwd[::step, :2], axis=1, keepdims=True), 1e-9)
            ax.quiver(pos[::step, 0], pos[::step, 1], f2[:, 0], f2[:, 1], color=color, scale=18, width=0.004,
                      zorder=11)
    if any(p.get("label") for p in paths):
        ax.legend(loc="upper right", fontsize=7)
    # Scale bar: one metre.
    ax.plot([lo[0] + 0.2, lo[0] + 1.2], [lo[1] - 0.35, lo[1] - 0.35], color="black", linewidth=2)
    ax.text(lo[0] + 0.7, lo[1] - 0.45, "1 m", ha="center", va="top", fontsize=7)
    ax.set_xlim(lo[0] - 0.4, hi[0] + 0.4)
    ax.set_ylim(lo[1] - 0.7, hi[1] + 0.4)
    ax.set_aspect("equal")
    ax.set_xlabel("x (m)")
    ax.set_ylabel("y (m)")
    ax.set_title(f"{scene.name}: {len(scene.rooms)} rooms, {len(scene.objects)} instances, "
                 f"{len(scene.lights)} lights", fontsize=9)
    fig.tight_layout()
    return fig


def floorplan_png_bytes(scene: Scene, paths: Sequence[dict] = ()) -> bytes:
    fig = floorplan_figure(scene, paths)
    buf = io.BytesIO()
    # No metadata: the same scene gives the same bytes.
    fig.savefig(buf, format="png", metadata={"Software": None})
    plt.close(fig)
    return buf.getvalue()
