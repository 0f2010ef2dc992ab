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
from .shadows import pane_table

# Columns of SceneData.inst_tex (texture index, -1: none; channel) and SceneData.inst_texf.
BASE, ROUGH, ROUGH_CH, METAL, METAL_CH, NORMAL, ALPHA, ALPHA_CH = range(8)
NORMAL_SCALE, ALPHA_FACTOR, ALPHA_CUTOFF = range(3)  # cutoff -1: opaque


@dataclass
class SceneData:
    rc: RaycastScene
    base_color: np.ndarray  # (I+1, 3) float32, row 0 = no object
    roughness: np.ndarray  # (I+1,)
    metallic: np.ndarray  # (I+1,)
    specular: np.ndarray  # (I+1,)
    emission: np.ndarray  # (I+1, 3)
    two_sided: np.ndarray  # (I+1,) bool: the emitter radiates from both sides of its triangles
    inst_tex: np.ndarray  # (I+1, 8) int32: the maps each instance reads (columns BASE … ALPHA_CH)
    inst_texf: np.ndarray  # (I+1, 4) float32: normal scale, alpha factor, alpha cutoff (-1: opaque)
    tex_offset: np.ndarray  # (textures,) first row of each texture in tex_pixels
    tex_shape: np.ndarray  # (textures, 2) height, width
    tex_pixels: np.ndarray  # (total texels, 4) linear float32, row-major per texture
    tri_offset: np.ndarray  # (I+1,) int64: first row of each instance in tri_uvs
    tri_uvs: np.ndarray  # (total triangles, 3, 2) float32
    tri_frame: np.ndarray  # (total triangles, 9) float32: tangent, bitangent, normal (normal-mapped ones)
    sky: Sky
    env: Environment  # the sky tabulated once (environment.py): what every escaping ray sees
    has_alpha: bool = False  # some material cuts out texels: rays are re-cast through them
    # (I+1, 3) float32: transmission, ior, thin (1.0 / 0.0) — the dielectric lobe (Material docs)
    dielectric: np.ndarray | None = None
    threads: int = 0  # Embree threads per call (0: all cores); a build worker given one core sets 1

    @property
    def has_normal_maps(self) -> bool:
        return bool((self.inst_tex[:, NORMAL] >= 0).any())

    @property
    def has_panes(self) -> bool:
        """Whether any material is a thin transmissive pane (shadow rays of delta lights pass)."""
        return self.dielectric is not None and bool(pane_table(self.dielectric).any())

    @property
    def tex(self) -> tuple:
        """Everything a texel lookup needs, as one tuple the kernels take (see kernels._texel)."""
        return (self.inst_tex, self.inst_texf, self.tex_offset, self.tex_shape, self.tex_pixels, self.tri_offset,
                self.tri_uvs, self.tri_frame)

    @classmethod
    def from_scene(cls, scene: Scene) -> SceneData:
        n = max((o.instance_id for o in scene.objects), default=0) + 1
        base = np.zeros((n, 3), np.float32)
        rough = np.ones(n, np.float32)
        metal = np.zeros(n, np.float32)
        spec = np.zeros(n, np.float32)
        emis = np.zeros((n, 3), np.float32)
        two_sided = np.zeros(n, np.bool_)
        inst_tex = np.full((n, 8), -1, np.int32)
        inst_texf = np.zeros((n, 4), np.float32)
        inst_texf[:, ALPHA_CUTOFF] = -1.0
        diel = np.zeros((n, 3), np.float32)
        diel[:, 1] = 1.5
        tex_names = sorted(scene.textures)
        textures = [texture_texels(scene.textures[k], k not in scene.linear_textures) for k in tex_names]
        offsets = np.zeros(n, np.int64)
        uv_blocks, frame_blocks, cursor, has_alpha = [], [], 0, False
        for o in scene.objects:
            i, m = o.instance_id, o.material
            base[i], rough[i], metal[i], spec[i], emis[i] = m.base_color, m.roughness, m.metallic, m.specular, m.emission
            two_sided[i] = m.emission_two_sided
            diel[i] = m.transmission, m.ior, float(m.thin)
            offsets[i] = cursor
            cursor += o.mesh.num_triangles
            row = inst_tex[i]
            for col, key in ((BASE, m.texture), (ROUGH, m.roughness_texture), (METAL, m.metallic_texture),
                             (NORMAL, m.normal_texture), (ALPHA, m.alpha_texture if m.masked else None)):
                if key is not None:
                    row[col] = tex_names.index(key)
            row[ROUGH_CH], row[METAL_CH], row[ALPHA_CH] = m.roughness_channel, m.metallic_channel, m.alpha_channel
            inst_texf[i, NORMAL_SCALE], inst_texf[i, ALPHA_FACTOR] = m.normal_scale, m.alpha
            if m.masked:
                inst_texf[i, ALPHA_CUTOFF] = m.alpha_cutoff  # "blend" too: rendered as a mask (Material)
                has_alpha = True
            if m.textures:
                uv_blocks.append(o.mesh.uvs[o.mesh.triangles])
            else:
                uv_blocks.append(np.zeros((o.mesh.num_triangles, 3, 2), np.float32))
            if m.normal_texture is not None:
                frame_blocks.append(tangent_frames(o.mesh.vertices, o.mesh.triangles, o.mesh.uvs))
            else:
                frame_blocks.append(np.zeros((o.mesh.num_triangles, 9), np.float32))
        tri_uvs = np.concatenate(uv_blocks) if uv_blocks else np.zeros((0, 3, 2), np.float32)
        tri_frame = np.concatenate(frame_blocks) if frame_blocks else np.zeros((0, 9), np.float32)
        shapes = np.array([t.shape[:2] for t in textures], np.int64).reshape(-1, 2)
        tex_offset = np.concatenate([[0], np.cumsum(shapes[:, 0] * shapes[:, 1])[:-1]]).astype(np.int64)
        pixels = np.concatenate([t.reshape(-1, 4) for t in textures]) if textures else np.zeros((1, 4), np.float32)
        return cls(build_raycast_scene(scene), base, rough, metal, spec, emis, two_sided, inst_tex, inst_texf,
                   tex_offset, shapes, pixels.astype(np.float32), offsets, tri_uvs.astype(np.float32),
                   np.ascontiguousarray(tri_frame, np.float32), scene.sky, environment(scene.sky), has_alpha, diel)


def texture_texels(tex: np.ndarray, srgb: bool) -> np.ndarray:
    """A uint8 texture as linear float32 (H, W, 4): grey fills RGB, a missing alpha is 1; an sRGB
    texture's RGB is decoded, its alpha (linear in glTF and PNG) and a linear texture are /255."""
    t = tex if tex.ndim == 3 else tex[..., None]
    c = t.shape[2]
    out = np.ones(t.shape[:2] + (4,), np.float32)
    rgb = t[..., :3] if c >= 3 else np.repeat(t[..., :1], 3, axis=2)
    rgb = rgb.astype(np.float64) / 255.0
    out[..., :3] = srgb_to_linear(rgb).astype(np.float32) if srgb else rgb.astype(np.float32)
    if c in (2, 4):
        out[..., 3] = t[..., c - 1].astype(np.float32) / np.float32(255.0)
    return out


def tangent_frames(vertices: np.ndarray, triangles: np.ndarray, uvs: np.ndarray) -> np.ndarray:
    """Per-triangle tangent frames for tangent-space normal maps, (M, 9): tangent along +u,
    bitangent along +v (sign from the UV winding, as MikkTSpace and glTF: B = ±N × T), and the
    winding's face normal. Flat per triangle, as the renderer's normals are; a triangle whose
    UVs are degenerate gets an arbitrary frame around its normal."""
    v = np.asarray(vertices, np.float64)[triangles]
    uv = np.asarray(uvs, np.float64)[triangles]
    e1, e2 = v[:, 1] - v[:, 0], v[:, 2] - v[:, 0]
    d1, d2 = uv[:, 1] - uv[:, 0], uv[:, 2] - uv[:, 0]
    n = np.cross(e1, e2)
    n /= np.maximum(np.linalg.norm(n, axis=1, keepdims=True), 1e-30)
    det = d1[:, 0] * d2[:, 1] - d2[:, 0] * d1[:, 1]
    ok = np.abs(det) > 1e-20
    inv = np.where(ok, 1.0 / np.where(ok, det, 1.0), 0.0)[:, None]
    dpdu = (e1 * d2[:, 1:2] - e2 * d1[:, 1:2]) * inv
    dpdv = (e2 * d1[:, 0:1] - e1 * d2[:, 0:1]) * inv
    t = dpdu - n * np.einsum("ij,ij->i", n, dpdu)[:, None]
    tn = np.linalg.norm(t, axis=1, keepdims=True)
    # Degenerate UVs: any unit vector perpendicular to n.
    helper = np.where(np.abs(n[:, :1]) < 0.9, [[1.0, 0.0, 0.0]], [[0.0, 1.0, 0.0]])
    fallback = np.cross(n, helper)
    fallback /= np.linalg.norm(fallback, axis=1, keepdims=True)
    bad = (~ok) | (tn[:, 0] < 1e-20)
    t = np.where(bad[:, None], fallback, t / np.maximum(tn, 1e-30))
    b = np.cross(n, t)
    sign = np.where(np.einsum("ij,ij->i", b, dpdv) < 0.0, -1.0, 1.0)
    b *= sign[:, None]
    return np.concatenate([t, b, n], axis=1).astype(np.float32)


def sky_radiance(sky: Sky, directions: np.ndarray) -> np.ndarray:
    """Radiance of ``sky`` along unit ``directions`` (N, 3), through the same table and lookup as
    the renderer's rays (tabulates the sky on every call: hold a SceneData to look up often)."""
    return lookup(environment(sky), directions)
