"""The scene flattened into arrays the renderer indexes per hit: materials by instance id,
UVs by (instance, triangle), textures as linear floats. Built once per clip (and inside each
worker: the open3d scene in it is not picklable)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..colour import srgb_to_linear
from ..scene.model import Scene, Sky
from ..scene.raycast import RaycastScene, build_raycast_scene
from .environment import Environment, environment, lookup


@dataclass
class SceneData:
    rc: RaycastScene
    base_color: np.ndarray  # (I+1, 3) float32, row 0 = no object
    roughness: np.ndarray  # (I+1,)
    metallic: np.ndarray  # (I+1,)
    specular: np.ndarray  # (I+1,)
    emission: np.ndarray  # (I+1, 3)
    two_sided: np.ndarray  # (I+1,) bool: the emitter radiates from both sides of its triangles
    texture_index: np.ndarray  # (I+1,) int32, -1 = untextured
    tex_offset: np.ndarray  # (textures,) first row of each texture in tex_pixels
    tex_shape: np.ndarray  # (textures, 2) height, width
    tex_pixels: np.ndarray  # (total texels, 3) linear float32, row-major per texture
    tri_offset: np.ndarray  # (I+1,) int64: first row of each instance in tri_uvs
    tri_uvs: np.ndarray  # (total triangles, 3, 2) float32
    sky: Sky
    env: Environment  # the sky tabulated once (environment.py): what every escaping ray sees
    threads: int = 0  # Embree threads per call (0: all cores); a build worker given one core sets 1

    @classmethod
    def from_scene(cls, scene: Scene) -> "SceneData":
        n = max((o.instance_id for o in scene.objects), default=0) + 1
        base = np.zeros((n, 3), np.float32)
        rough = np.ones(n, np.float32)
        metal = np.zeros(n, np.float32)
        spec = np.zeros(n, np.float32)
        emis = np.zeros((n, 3), np.float32)
        two_sided = np.zeros(n, np.bool_)
        tex_idx = np.full(n, -1, np.int32)
        tex_names = sorted(scene.textures)
        textures = [srgb_to_linear(scene.textures[k].astype(np.float64) / 255.0).astype(np.float32) for k in tex_names]
        offsets = np.zeros(n, np.int64)
        uv_blocks, cursor = [], 0
        for o in scene.objects:
            i, m = o.instance_id, o.material
            base[i], rough[i], metal[i], spec[i], emis[i] = m.base_color, m.roughness, m.metallic, m.specular, m.emission
            two_sided[i] = m.emission_two_sided
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
        return cls(build_raycast_scene(scene), base, rough, metal, spec, emis, two_sided, tex_idx, tex_offset, shapes,
                   pixels.astype(np.float32), offsets, tri_uvs.astype(np.float32), scene.sky, environment(scene.sky))


def sky_radiance(sky: Sky, directions: np.ndarray) -> np.ndarray:
    """Radiance of ``sky`` along unit ``directions`` (N, 3), through the same table and lookup as
    the renderer's rays (tabulates the sky on every call: hold a SceneData to look up often)."""
    return lookup(environment(sky), directions)
