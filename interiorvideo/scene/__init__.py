"""Scenes: the model (rooms, objects with PBR materials, lights), the procedural generator,
importers for user meshes, and scene folders (GLB + JSON + floor plan)."""

from .generator import GeneratorSettings, generate_scene
from .io import load_scene, save_scene
from .mesh import Mesh
from .model import Light, Material, Opening, Room, Scene, SceneObject, Sky
from .sky import map_sky, physical_sky

__all__ = [
    "GeneratorSettings", "Light", "Material", "Mesh", "Opening", "Room", "Scene", "SceneObject", "Sky",
    "generate_scene", "load_scene", "map_sky", "physical_sky", "save_scene",
]
