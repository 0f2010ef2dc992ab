"""Triangle meshes as plain arrays, and the primitives furniture is built from.

Primitives come from open3d's geometry factories; this module only converts them to
float32 arrays (what Embree ray casting and glTF store, so a save/load round trip is exact),
unshares vertices per triangle and adds box-projected UVs so textured materials tile in metres.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import open3d as o3d


@dataclass(frozen=True, eq=False)
class Mesh:
    """An indexed triangle mesh in world (or object-local) metres, Z up."""

    vertices: np.ndarray  # (N, 3) float32
    triangles: np.ndarray  # (M, 3) int32
    uvs: np.ndarray | None = None  # (N, 2) float32, per vertex

    def __post_init__(self) -> None:
        object.__setattr__(self, "vertices", np.ascontiguousarray(self.vertices, dtype=np.float32).reshape(-1, 3))
        object.__setattr__(self, "triangles", np.ascontiguousarray(self.triangles, dtype=np.int32).reshape(-1, 3))
        if len(self.triangles) and (self.triangles.min() < 0 or self.triangles.max() >= len(self.vertices)):
            raise ValueError(f"triangle indices must lie in [0, {len(self.vertices)}), got "
                             f"[{self.triangles.min()}, {self.triangles.max()}]")
        if not np.isfinite(self.vertices).all():
            raise ValueError("mesh vertices must be finite")
        if self.uvs is not None:
            object.__setattr__(self, "uvs", np.ascontiguousarray(self.uvs, dtype=np.float32).reshape(-1, 2))
            if len(self.uvs) != len(self.vertices):
                raise ValueError(f"mesh has {len(self.vertices)} vertices but {len(self.uvs)} UVs")

    @property
    def num_triangles(self) -> int:
        return int(len(self.triangles))

    def bounds(self) -> np.ndarray:
        """(2, 3) array of min and max corners."""
        return np.stack([self.vertices.min(axis=0), self.vertices.max(axis=0)])

    def triangle_normals(self) -> np.ndarray:
        v = self.vertices.astype(np.float64)
        a, b, c = v[self.triangles[:, 0]], v[self.triangles[:, 1]], v[self.triangles[:, 2]]
        n = np.cross(b - a, c - a)
        return n / np.maximum(np.linalg.norm(n, axis=1, keepdims=True), 1e-20)

    def area(self) -> float:
        v = self.vertices.astype(np.float64)
        a, b, c = v[self.triangles[:, 0]], v[self.triangles[:, 1]], v[self.triangles[:, 2]]
        return float(0.5 * np.linalg.norm(np.cross(b - a, c - a), axis=1).sum())

    def transformed(self, rotation_z_deg: float = 0.0, translation=(0.0, 0.0, 0.0)) -> "Mesh":
        """Rotate about +Z, then translate; UVs travel with their vertices."""
        t = np.radians(rotation_z_deg)
        c, s = np.cos(t), np.sin(t)
        # Exact values for quarter turns keep axis-aligned furniture exactly axis-aligned.
        if float(rotation_z_deg) % 90.0 == 0.0:
            c, s = round(c), round(s)
        rot = np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])
        v = self.vertices.astype(np.float64) @ rot.T + np.asarray(translation, dtype=np.float64)
        return Mesh(v, self.triangles, self.uvs)

    def to_open3d(self) -> o3d.geometry.TriangleMesh:
        m = o3d.geometry.TriangleMesh(
            o3d.utility.Vector3dVector(self.vertices.astype(np.float64)),
            o3d.utility.Vector3iVector(self.triangles),
        )
        return m


def merge(meshes: list[Mesh]) -> Mesh:
    """Concatenate meshes into one (UVs kept only when every part has them)."""
    if not meshes:
        raise ValueError("cannot merge an empty list of meshes")
    offsets = np.cumsum([0] + [len(m.vertices) for m in meshes[:-1]])
    verts = np.concatenate([m.vertices for m in meshes])
    tris = np.concatenate([m.triangles + o for m, o in zip(meshes, offsets)])
    uvs = None
    if all(m.uvs is not None for m in meshes):
        uvs = np.concatenate([m.uvs for m in meshes])
    return Mesh(verts, tris, uvs)


def from_open3d(mesh: o3d.geometry.TriangleMesh) -> Mesh:
    return Mesh(np.asarray(mesh.vertices), np.asarray(mesh.triangles))


UV_GRID = 4096.0


def with_box_uvs(mesh: Mesh, tile_size: float = 1.0) -> Mesh:
    """Unshare vertices and give each triangle a planar UV from its dominant normal axis.

    Box projection in metres divided by ``tile_size`` makes a texture repeat every
    ``tile_size`` metres whatever the object's size, as wood grain or floor tiles do.
    """
    corners = mesh.vertices[mesh.triangles.reshape(-1)]  # (3M, 3)
    normals = np.repeat(mesh.triangle_normals(), 3, axis=0)
    axis = np.argmax(np.abs(normals), axis=1)
    # For a face facing X use (y, z), facing Y use (x, z), facing Z use (x, y).
    u_axis = np.where(axis == 0, 1, 0)
    v_axis = np.where(axis == 2, 1, 2)
    idx = np.arange(len(corners))
    uvs = np.stack([corners[idx, u_axis], corners[idx, v_axis]], axis=1) / float(tile_size)
    # Snap to 1/4096 (a quarter millimetre per metre): glTF's v-flip (1 - v) is then exact in
    # float32, so UVs survive a GLB round trip bit for bit.
    uvs = np.round(uvs * UV_GRID) / UV_GRID
    tris = np.arange(len(corners), dtype=np.int32).reshape(-1, 3)
    return Mesh(corners, tris, uvs)


def box(size, center=(0.0, 0.0, 0.0)) -> Mesh:
    """Axis-aligned box of ``size`` (sx, sy, sz) centred at ``center``."""
    sx, sy, sz = (float(s) for s in size)
    if min(sx, sy, sz) <= 0:
        raise ValueError(f"box size must be positive, got {size}")
    m = o3d.geometry.TriangleMesh.create_box(sx, sy, sz)
    m.translate(np.asarray(center, dtype=np.float64) - np.array([sx, sy, sz]) / 2.0)
    return from_open3d(m)


def box_between(lo, hi) -> Mesh:
    """Axis-aligned box spanning corners ``lo`` and ``hi``."""
    lo, hi = np.asarray(lo, dtype=np.float64), np.asarray(hi, dtype=np.float64)
    return box(hi - lo, (lo + hi) / 2.0)


def cylinder(radius: float, height: float, base=(0.0, 0.0, 0.0), resolution: int = 16, caps: bool = True) -> Mesh:
    """Vertical cylinder standing on ``base``; without caps it is an open tube (lamp shades)."""
    m = o3d.geometry.TriangleMesh.create_cylinder(float(radius), float(height), resolution, 1)
    m.translate(np.asarray(base, dtype=np.float64) + np.array([0.0, 0.0, height / 2.0]))
    out = from_open3d(m)
    if not caps:
        out = _drop_horizontal_faces(out)
    return out


def cone(radius: float, height: float, base=(0.0, 0.0, 0.0), resolution: int = 16) -> Mesh:
    m = o3d.geometry.TriangleMesh.create_cone(float(radius), float(height), resolution, 1)
    m.translate(np.asarray(base, dtype=np.float64))
    return from_open3d(m)


def frustum_tube(r_bottom: float, r_top: float, height: float, base=(0.0, 0.0, 0.0), resolution: int = 16) -> Mesh:
    """Open truncated cone (a lamp shade): made from open3d's tube with its rings rescaled."""
    tube = cylinder(1.0, height, (0.0, 0.0, 0.0), resolution, caps=False)
    v = tube.vertices.astype(np.float64).copy()
    frac = v[:, 2] / height
    v[:, :2] *= (r_bottom + (r_top - r_bottom) * frac)[:, None]
    return Mesh(v + np.asarray(base, dtype=np.float64), tube.triangles)


def sphere(radius: float, center=(0.0, 0.0, 0.0), resolution: int = 8, scale=(1.0, 1.0, 1.0)) -> Mesh:
    m = o3d.geometry.TriangleMesh.create_sphere(float(radius), resolution)
    v = np.asarray(m.vertices) * np.asarray(scale, dtype=np.float64) + np.asarray(center, dtype=np.float64)
    return Mesh(v, np.asarray(m.triangles))


def _drop_horizontal_faces(mesh: Mesh) -> Mesh:
    keep = np.abs(mesh.triangle_normals()[:, 2]) < 0.5
    return Mesh(mesh.vertices, mesh.triangles[keep])
