"""The scene model: rooms, objects with PBR materials, and lights.

World frame: metres, right-handed, +Z up, floor at z = 0. (glTF files are Y-up; the
GLB writer and importers convert at the boundary.) Instance id 0 means "no object",
so ids start at 1; every object carries its room, semantic label and a local text prompt
because later stages train and score on exactly these.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np
from shapely import contains_xy
from shapely.geometry import Polygon

from .mesh import Mesh

RGB = tuple[float, float, float]
LightKind = Literal["area", "point", "spot", "sun"]
AlphaMode = Literal["opaque", "mask", "blend"]


@dataclass(frozen=True)
class Material:
    """A glTF-style metallic-roughness material.

    ``base_color`` is linear; a texture (an sRGB ``uint8`` image in ``Scene.textures``) multiplies
    it through the mesh UVs, exactly as glTF's baseColorFactor × baseColorTexture does.

    The other maps (all through the same UVs, all keys into ``Scene.textures`` holding *linear*
    data, i.e. named in ``Scene.linear_textures``; ``*_channel`` picks one channel of it, so glTF's
    packed metallicRoughness texture is one texture read twice, G for roughness, B for metallic):
    roughness and metallic multiply their factors; the normal map is tangent space, +X along
    increasing u, +Y along increasing v, as glTF and MikkTSpace define it, its x and y scaled by
    ``normal_scale``; alpha = ``alpha`` × the alpha texture's channel (glTF: the base colour
    texture's A, which is linear in an sRGB image too). ``alpha_mode`` "mask" cuts out every texel
    with alpha < ``alpha_cutoff``; "blend" is rendered as a mask at its cutoff (the importers set
    0.5) so that every pass stays a deterministic, pixel-centre sample; "opaque" ignores alpha.
    """

    name: str
    kind: str
    base_color: RGB
    roughness: float
    metallic: float
    emission: RGB = (0.0, 0.0, 0.0)
    # An emitter radiates from the front of its triangles (the winding's normal side) only, as
    # Mitsuba's area emitters and glTF do; True makes it radiate (and glow) on both sides, as
    # Blender's emission shader does — for lamps whose winding an exporter did not keep.
    emission_two_sided: bool = False
    texture: str | None = None
    color_name: str = ""
    # Strength of a dielectric's specular lobe (glTF KHR_materials_specular's factor): 1 gives the
    # usual F0 = 0.04; 0 makes a purely Lambertian surface (metals ignore it).
    specular: float = 1.0
    # -- texture maps beyond base colour (issue 16) -------------------------------------------
    roughness_texture: str | None = None
    roughness_channel: int = 0
    metallic_texture: str | None = None
    metallic_channel: int = 0
    normal_texture: str | None = None
    normal_scale: float = 1.0
    alpha_mode: AlphaMode = "opaque"
    alpha: float = 1.0
    alpha_cutoff: float = 0.5
    alpha_texture: str | None = None
    alpha_channel: int = 3
    # -- dielectric transmission (glTF KHR_materials_transmission / _ior / _volume) ---------------
    # ``transmission`` t blends a dielectric BSDF into the opaque model above, as glTF's
    # transmission extension does: f = (1 − t)·f_opaque + t·f_dielectric, the dielectric's
    # transmitted light tinted by ``base_color``. ``thin`` (glTF: transmission without
    # KHR_materials_volume) is a thin-walled slab — a smooth pane with the slab's Fresnel
    # inter-reflection and no refraction (Mitsuba ``thindielectric``); solid (``thin`` False)
    # refracts at ``ior``: smooth below roughness ``render.brdf.SMOOTH_ROUGHNESS`` (``dielectric``), else GGX
    # microfacet transmission with α = roughness² (Walter et al. 2007, ``roughdielectric``).
    transmission: float = 0.0
    ior: float = 1.5
    thin: bool = True

    def __post_init__(self) -> None:
        for c in self.base_color:
            if not 0.0 <= c <= 1.0:
                raise ValueError(f"material {self.name!r}: base colour {self.base_color} outside [0, 1]")
        if not (0.0 <= self.roughness <= 1.0 and 0.0 <= self.metallic <= 1.0 and 0.0 <= self.specular <= 1.0):
            raise ValueError(f"material {self.name!r}: roughness, metallic and specular must lie in [0, 1]")
        if min(self.emission) < 0.0:
            raise ValueError(f"material {self.name!r}: emission must be non-negative")
        if self.alpha_mode not in ("opaque", "mask", "blend"):
            raise ValueError(f"material {self.name!r}: alpha_mode must be 'opaque', 'mask' or 'blend', "
                             f"got {self.alpha_mode!r}")
        if not (0.0 <= self.alpha <= 1.0 and 0.0 <= self.alpha_cutoff <= 1.0):
            raise ValueError(f"material {self.name!r}: alpha and alpha_cutoff must lie in [0, 1]")
        for name in ("roughness_channel", "metallic_channel", "alpha_channel"):
            if getattr(self, name) not in (0, 1, 2, 3):
                raise ValueError(f"material {self.name!r}: {name} must be 0-3, got {getattr(self, name)!r}")

    @property
    def data_textures(self) -> tuple[str, ...]:
        """The keys of the linear data maps this material reads: roughness, metallic, normal, and an
        alpha map read from a colour channel (alpha from channel 3 is linear in every texture)."""
        keys = (self.roughness_texture, self.metallic_texture, self.normal_texture,
                self.alpha_texture if self.alpha_channel < 3 else None)
        return tuple(k for k in keys if k is not None)

    @property
    def textures(self) -> tuple[str, ...]:
        """Every texture key the material reads."""
        keys = (self.texture, self.roughness_texture, self.metallic_texture, self.normal_texture, self.alpha_texture)
        return tuple(dict.fromkeys(k for k in keys if k is not None))

    @property
    def masked(self) -> bool:
        """Whether some texels may be cut out (alpha tested)."""
        return self.alpha_mode != "opaque" and (self.alpha_texture is not None or self.alpha < self.alpha_cutoff)
        if not 0.0 <= self.transmission <= 1.0:
            raise ValueError(f"material {self.name!r}: transmission {self.transmission} outside [0, 1]")
        if not 1.0 <= self.ior <= 4.0:
            raise ValueError(f"material {self.name!r}: ior {self.ior} outside [1, 4]")

    @property
    def is_emissive(self) -> bool:
        return max(self.emission) > 0.0

    @property
    def is_transmissive(self) -> bool:
        return self.transmission > 0.0


def _channels(tex: np.ndarray) -> int:
    return 1 if tex.ndim == 2 else int(tex.shape[2])


@dataclass(frozen=True, eq=False)
class SceneObject:
    """One instance: a mesh with one material. Multi-material furniture (a lamp's stand and
    shade) is several instances sharing a ``group`` so each part can be prompted and edited."""

    instance_id: int
    name: str
    label: str
    room_id: int
    mesh: Mesh
    material: Material
    prompt: str = ""
    group: str = ""
    structural: bool = False  # walls, floors, ceilings, window frames


@dataclass(frozen=True)
class Light:
    """A light source.

    area: emission of the object ``object_id`` (radiance = color × intensity);
    point/spot: radiant intensity color × intensity at ``position`` (spot: around ``direction``
    with smooth falloff between ``cone_deg`` inner/outer half-angles);
    sun: irradiance color × intensity on a surface facing ``direction`` (pointing to the sun).
    """

    name: str
    kind: LightKind
    color: RGB
    intensity: float
    position: tuple[float, float, float] | None = None
    direction: tuple[float, float, float] | None = None
    cone_deg: tuple[float, float] | None = None
    object_id: int | None = None
    room_id: int | None = None

    def __post_init__(self) -> None:
        if self.intensity < 0:
            raise ValueError(f"light {self.name!r}: intensity must be non-negative")
        if self.kind in ("point", "spot") and self.position is None:
            raise ValueError(f"light {self.name!r}: a {self.kind} light needs a position")
        if self.kind in ("spot", "sun") and self.direction is None:
            raise ValueError(f"light {self.name!r}: a {self.kind} light needs a direction")
        if self.kind == "area" and self.object_id is None:
            raise ValueError(f"light {self.name!r}: an area light needs its emissive object id")


SkyKind = Literal["gradient", "physical", "map"]
SKY_KINDS = ("gradient", "physical", "map")


@dataclass(frozen=True)
class Sky:
    """What rays that leave the scene see, as plain data (evaluated by :mod:`.sky`).

    ``gradient``: horizon → zenith colour by √(up), 0.3·horizon below the horizon (the old default,
    kept so old scenes render as before). ``physical``: Preetham et al. (1999) clear-sky daylight for
    the sun towards ``sun_direction`` (world Z-up, unit vector to the sun) and ``turbidity``,
    scaled so the zenith's luminance is ``intensity``; the sun itself is the scene's sun light.
    ``map``: a user's equirectangular HDR image (.exr/.hdr) at ``map_path`` × ``intensity``,
    turned by ``rotation_deg`` about +Z; ``map_sha256`` pins its bytes (checked on every read).
    """

    zenith: RGB = (0.35, 0.55, 0.95)
    horizon: RGB = (0.85, 0.9, 1.0)
    intensity: float = 1.0
    kind: SkyKind = "gradient"
    sun_direction: tuple[float, float, float] | None = None
    turbidity: float = 3.0
    map_path: str | None = None
    map_sha256: str | None = None
    rotation_deg: float = 0.0

    def __post_init__(self) -> None:
        if self.kind not in SKY_KINDS:
            raise ValueError(f"sky kind must be one of {', '.join(SKY_KINDS)}, got {self.kind!r}")
        if not (self.intensity >= 0.0 and np.isfinite(self.intensity)):
            raise ValueError(f"sky intensity must be finite and non-negative, got {self.intensity!r}")
        if self.kind == "physical":
            if self.sun_direction is None or len(self.sun_direction) != 3:
                raise ValueError("a physical sky needs sun_direction (x, y, z), a vector towards the sun")
            d = np.asarray(self.sun_direction, np.float64)
            if not np.isfinite(d).all() or np.linalg.norm(d) == 0.0 or d[2] <= 0.0:
                raise ValueError(f"physical sky: the sun must be above the horizon (z > 0), got {self.sun_direction}")
            if not 1.7 <= self.turbidity <= 10.0:
                raise ValueError(f"physical sky: turbidity must lie in [1.7, 10] (Preetham's fit), "
                                 f"got {self.turbidity}")
        if self.kind == "map" and not self.map_path:
            raise ValueError("a map sky needs map_path, an equirectangular .exr or .hdr file")


@dataclass(frozen=True)
class Opening:
    """A door or window in one of a room's walls: an interval along the wall and a height band."""

    kind: Literal["door", "window"]
    side: Literal["south", "north", "west", "east"]
    start: float  # world coordinate along the wall (x for south/north, y for west/east)
    end: float
    bottom: float
    top: float
    to_room: int | None = None  # the room a door leads to


@dataclass(frozen=True)
class Room:
    """A room: its interior polygon (inside the walls), floor/ceiling heights and prompt."""

    room_id: int
    kind: str
    polygon: tuple[tuple[float, float], ...]  # interior, counter-clockwise, metres
    floor_z: float
    ceiling_z: float
    prompt: str = ""
    openings: tuple[Opening, ...] = ()
    wall_thickness: float = 0.0

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        """Interior axis-aligned bounds (xmin, ymin, xmax, ymax)."""
        p = np.asarray(self.polygon, dtype=np.float64)
        return (float(p[:, 0].min()), float(p[:, 1].min()), float(p[:, 0].max()), float(p[:, 1].max()))

    @property
    def area(self) -> float:
        p = np.asarray(self.polygon, dtype=np.float64)
        x, y = p[:, 0], p[:, 1]
        return float(0.5 * abs(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1))))

    def contains_xy(self, xy: np.ndarray, margin: float = 0.0) -> np.ndarray:
        """Which points lie inside the interior polygon (shrunk by ``margin``)."""

        poly = Polygon(self.polygon)
        if margin:
            poly = poly.buffer(-margin, join_style="mitre")
        xy = np.asarray(xy, dtype=np.float64).reshape(-1, 2)
        return np.asarray(contains_xy(poly, xy[:, 0], xy[:, 1]))


@dataclass(frozen=True, eq=False)
class Scene:
    """An apartment: rooms, the objects in them, lights, sky, and the textures materials use."""

    name: str
    objects: tuple[SceneObject, ...]
    lights: tuple[Light, ...]
    rooms: tuple[Room, ...]
    sky: Sky = field(default_factory=Sky)
    textures: dict[str, np.ndarray] = field(default_factory=dict)
    seed: int | None = None
    source: dict = field(default_factory=dict)  # generator settings or importer provenance
    # Texture keys holding linear data (roughness/metallic/normal maps); all others are sRGB colour
    # (their alpha channel, when they have one, is linear, as in glTF and PNG).
    linear_textures: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        ids = [o.instance_id for o in self.objects]
        if len(set(ids)) != len(ids):
            raise ValueError(f"scene {self.name!r}: duplicate instance ids")
        if any(i < 1 for i in ids):
            raise ValueError(f"scene {self.name!r}: instance ids start at 1 (0 means no object)")
        names = [o.name for o in self.objects]
        if len(set(names)) != len(names):
            raise ValueError(f"scene {self.name!r}: duplicate object names")
        by_name: dict[str, Material] = {}
        for o in self.objects:
            if by_name.setdefault(o.material.name, o.material) != o.material:
                raise ValueError(f"scene {self.name!r}: two different materials are both named {o.material.name!r}")
        room_ids = {r.room_id for r in self.rooms}
        for o in self.objects:
            if o.room_id not in room_ids and o.room_id != -1:
                raise ValueError(f"object {o.name!r} refers to unknown room {o.room_id}")
            self._check_textures(o)

    def _check_textures(self, o: SceneObject) -> None:
        """Every map a material reads exists, in the right colour space, with the channel it reads."""
        m = o.material
        for key in m.textures:
            if key not in self.textures:
                raise ValueError(f"object {o.name!r}: texture {key!r} missing from scene")
            if o.mesh.uvs is None:
                raise ValueError(f"object {o.name!r}: textured material but the mesh has no UVs")
            tex = self.textures[key]
            if tex.dtype != np.uint8 or tex.ndim not in (2, 3) or (tex.ndim == 3 and not 1 <= tex.shape[2] <= 4):
                raise ValueError(f"texture {key!r}: expected uint8 (H, W[, 1-4]), got {tex.dtype} {tex.shape}")
        if m.texture is not None:
            if m.texture in self.linear_textures:
                raise ValueError(f"material {m.name!r}: base colour texture {m.texture!r} is in linear_textures "
                                 "(base colour is sRGB)")
            if _channels(self.textures[m.texture]) < 3:
                raise ValueError(f"material {m.name!r}: base colour texture {m.texture!r} has fewer than 3 channels")
        for key in m.data_textures:
            if key not in self.linear_textures:
                raise ValueError(f"material {m.name!r}: data texture {key!r} must be listed in linear_textures")
        for key, ch, what in ((m.roughness_texture, m.roughness_channel, "roughness"),
                              (m.metallic_texture, m.metallic_channel, "metallic"),
                              (m.alpha_texture, m.alpha_channel, "alpha")):
            if key is not None and ch >= _channels(self.textures[key]):
                raise ValueError(f"material {m.name!r}: {what} channel {ch} but texture {key!r} has "
                                 f"{_channels(self.textures[key])}")
        if m.normal_texture is not None and _channels(self.textures[m.normal_texture]) < 3:
            raise ValueError(f"material {m.name!r}: normal map {m.normal_texture!r} needs 3 channels")

    def object(self, instance_id: int) -> SceneObject:
        for o in self.objects:
            if o.instance_id == instance_id:
                return o
        raise KeyError(f"scene {self.name!r} has no instance {instance_id}")

    def room(self, room_id: int) -> Room:
        for r in self.rooms:
            if r.room_id == room_id:
                return r
        known = ", ".join(str(r.room_id) for r in self.rooms)
        raise KeyError(f"scene {self.name!r} has no room {room_id} (rooms: {known})")

    def objects_in_room(self, room_id: int) -> list[SceneObject]:
        return [o for o in self.objects if o.room_id == room_id]

    def materials(self) -> dict[str, Material]:
        return {o.material.name: o.material for o in self.objects}

    @property
    def num_triangles(self) -> int:
        return sum(o.mesh.num_triangles for o in self.objects)

    def bounds(self) -> np.ndarray:
        b = np.stack([o.mesh.bounds() for o in self.objects])
        return np.stack([b[:, 0].min(axis=0), b[:, 1].max(axis=0)])

