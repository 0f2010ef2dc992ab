"""The scene flattened into arrays the renderer indexes per hit: materials by instance id,
UVs by (instance, triangle), textures as linear floats. Built once per clip (and inside each
worker: the open3d scene in it is not picklable)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..colour import srgb_to_linear
from ..scene.model import Scene, Sky
from ..scene.raycast import RaycastScene, build_raycast_scene
from .shadows import pane_table


@dataclass
class SceneData:
    rc: RaycastScene
    base_color: np.ndarray  # (I+1, 3) float32, row 0 = no object
    roughness: np.ndarray  # (I+1,)
    metallic: np.ndarray  # (I+1,)
    specular: np.ndarray  # (I+1,)
    emission: np.ndarray  # (I+1, 3)
    texture_index: np.ndarray  # (I+1,) int32, -1 = untextured
    tex_offset: np.ndarray  # (textures,) first row of each texture in tex_pixels
    tex_shape: np.ndarray  # (textures, 2) height, width
    tex_pixels: np.ndarray  # (total texels, 3) linear float32, row-major per texture
    tri_offset: np.ndarray  # (I+1,) int64: first row of each instance in tri_uvs
    tri_uvs: np.ndarray  # (total triangles, 3, 2) float32
    sky: Sky
    # (I+1, 3) float32: transmission, ior, thin (1.0 / 0.0) — the dielectric lobe (Material docs)
    dielectric: np.ndarray | None = None
    threads: int = 0  # Embree threads per call (0: all cores); a build worker given one core sets 1

    @property
    def has_panes(self) -> bool:
        """Whether any material is a thin transmissive pane (shadow rays of delta lights pass)."""
        return self.dielectric is not None and bool(pane_table(self.dielectric).any())

    @classmethod
    def from_scene(cls, scene: Scene) -> "SceneData":
        n = max((o.instance_id for o in scene.objects), default=0) + 1
        base = np.zeros((n, 3), np.float32)
        rough = np.ones(n, np.float32)
        metal = np.zeros(n, np.float32)
        spec = np.zeros(n, np.float32)
        emis = np.zeros((n, 3), np.float32)
        tex_idx = np.full(n, -1, np.int32)
        diel = np.zeros((n, 3), np.float32)
        diel[:, 1] = 1.5
        tex_names = sorted(scene.textures)
        textures = [srgb_to_linear(scene.textures[k].astype(np.float64) / 255.0).astype(np.float32) for k in tex_names]
        offsets = np.zeros(n, np.int64)
        uv_blocks, cursor = [], 0
        for o in scene.objects:
            i, m = o.instance_id, o.material
            base[i], rough[i], metal[i], spec[i], emis[i] = m.base_color, m.roughness, m.metallic, m.specular, m.emission
            diel[i] = m.transmission, m.ior, float(m.thin)
            offsets[i] = cursor
            cursor += o.mesh.num_triangles
            if m.texture is not None:
                tex_idx[i] = tex_names.index(m.texture)
                uv_blocks.append(o.mesh.uvs[o.mesh.triangles])
            else:
                uv_blocks.append(np.zeros((o.mesh.num_triangles, 3, 2), np.float32))
        tri_uvs = np.concatenate(uv_blocks) if uv_blocks else np.zeros((0, 3, 2), np.float32)
        shapes = np.array([t.shape[:2] for t in textures], np.int64).reshape(-1, 2)
        tex_offset = np.concatenate([[0], np.cumsum(shapes[:, 0] * shapes[:, 1])[:-1]]).astype(np.int64)
        pixels = np.concatenate([t.reshape(-1, 3) for t in textures]) if textures else np.zeros((1, 3), np.float32)
        return cls(build_raycast_scene(scene), base, rough, metal, spec, emis, tex_idx, tex_offset, shapes,
                   pixels.astype(np.float32), offsets, tri_uvs.astype(np.float32), scene.sky, diel)


def sky_radiance(sky: Sky, directions: np.ndarray) -> np.ndarray:
    """Radiance of the sky (and a dim ground below the horizon) seen along unit ``directions``."""
    z = directions[:, 2:3]
    up = np.clip(z, 0.0, 1.0)
    zen, hor = np.asarray(sky.zenith, np.float32), np.asarray(sky.horizon, np.float32)
    above = hor + (zen - hor) * np.sqrt(up)
    ground = 0.3 * hor
    return (sky.intensity * np.where(z >= 0, above, ground)).astype(np.float32)
