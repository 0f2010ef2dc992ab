"""Edits: what changes in a scene or in its intrinsic passes, one module per job.

* :mod:`.scene` — scene edits (an instance's albedo or material, a light) and
  :func:`~.scene.apply_scene_edits`, whose result the renderer turns into an edit's ground truth.
* :mod:`.intrinsic` — parametric edits of intrinsic passes (albedo, material, normal,
  irradiance) and :func:`~.intrinsic.apply_edits`, applied before X2Video samples; where they
  apply is a :class:`~.region.Region` (:mod:`.region`).
* :mod:`.bridge` — :func:`~.bridge.from_scene_edit`: the intrinsic edit matching a scene edit.
* :mod:`.serialise` — the dict/JSON form of scene edits and the CLI string form of edits.
* :mod:`.values` — checking edit parameters; numpy/torch interop of passes.

Import from the submodules: the scene-edit modules load the scene package (open3d), the
intrinsic ones only numpy.
"""
