"""Import user scenes (glTF/GLB, OBJ+MTL, PLY) into the scene model, and export scenes as OBJ.

``import_scene(paths, rooms=..., up=..., units=..., scale=..., name=..., label_from=...,
default_lights=...)`` reads one or more files and
returns a :class:`~interiorvideo.scene.model.Scene`: one :class:`SceneObject` per mesh (per glTF
node primitive, per OBJ object × material, per PLY file) with a fresh instance id 1..N in file and
node order, a label, a PBR :class:`Material`, a local prompt, rooms, and lights: an area light
per emissive mesh, plus glTF ``KHR_lights_punctual`` point, spot and directional (sun) lights.
``export_obj(scene, path)`` writes OBJ + MTL + PNG textures that ``import_scene`` reads back.
``import_front3d(json_path, future_dir, texture_dir=..., name=...)`` imports a 3D-FRONT house JSON
with its 3D-FUTURE furniture folder (rooms, kinds and heights from the JSON; labels from
``model_info.json``); it is a function of its own because the format states its rooms, units and
up axis, so none of ``import_scene``'s options applies (see :mod:`.front3d`).

What is read: glTF/GLB meshes with node transforms, metallic-roughness materials, base colour,
metallic-roughness and normal textures, alpha modes, ``doubleSided`` (two-sided emitters),
``KHR_materials_emissive_strength``, ``KHR_materials_specular`` (its factor: 0 is Lambertian),
``KHR_materials_transmission``/``_ior``/``_volume`` (glass), Draco-compressed meshes
(``KHR_draco_mesh_compression``, decoded through DracoPy) and ``KHR_lights_punctual``; OBJ
geometry with relative (negative) indices and tab separators, per ``o``/``g`` object, and MTL
``Kd``/``map_Kd``/``Ke`` plus the Phong ``Ks``/``Ns``/``illum`` and the PBR extension ``Pr``/``Pm``
mapped to roughness, metallic and specular, ``map_Pr``/``map_Pm``/``norm``/``map_Bump``/``map_d``
maps and ``d``/``Tr``/``Tf``/``Ni`` glass under ``illum`` 4, 6, 7 (:mod:`.mtl`); PLY vertices,
triangles and vertex colours.

This package is split by job; the why of each choice is in the module that makes it:

* :mod:`.common` — raw part/material records, errors, mesh checks, up-axis conversion.
* :mod:`.gltf` (+ :mod:`.gltf_header`, :mod:`.gltf_lights`) — ``.glb``/``.gltf`` through
  trimesh (Draco through DracoPy), exact materials from our own GLB's extras, punctual lights;
  :mod:`.obj` — ``.obj`` through tinyobjloader, its ``.mtl`` through trimesh and :mod:`.mtl`
  (MTL ↔ PBR); :mod:`.ply` — ``.ply`` through open3d; :mod:`.trimesh_parts` — trimesh meshes
  and materials.
* :mod:`.names` — labels and material/room kinds from names; :mod:`.bank` — shared materials
  and textures.
* :mod:`.rooms` — floor-split room segmentation; :mod:`.room_layout` — rooms per mode and the
  room of each object.
* :mod:`.orient` — each file's up axis and units, detected from the geometry;
  :mod:`.sanity` — warnings a user must see (no light, stacked files, no floor).
* :mod:`.assemble` — ``import_scene``; :mod:`.export` — ``export_obj``.
* :mod:`.front3d` — ``import_front3d`` / ``read_front3d``: 3D-FRONT + 3D-FUTURE, assembled by
  :mod:`.assemble`'s object code.

Conventions: files are read in their own coordinates, then turned +Z up and scaled to metres per
file by :mod:`.orient`: ``up="auto"`` keeps +Y up (glTF's specification, Blender's default export)
unless the geometry says +Z, ``units="auto"`` keeps metres unless the storey height says cm, mm,
in or ft; ``up``/``units``/``scale`` override. What was assumed, with its evidence, is in
``scene.source["assumptions"]``, and warnings in ``scene.source["warnings"]``.

Errors: a missing file, an unknown extension, an unreadable or corrupt file, a file without
triangles, non-finite vertices, out-of-range triangle indices, and Draco data that cannot be
decoded (DracoPy missing, a corrupt buffer) raise :class:`SceneImportError` (a ``ValueError``)
naming the file and, where it applies, the mesh.
"""

from .assemble import import_scene
from .common import SUPPORTED_EXTENSIONS, SceneImportError
from .export import export_obj
from .front3d import import_front3d, read_front3d
from .names import label_from_name

__all__ = ["SceneImportError", "SUPPORTED_EXTENSIONS", "export_obj", "import_front3d", "import_scene",
           "label_from_name", "read_front3d"]
