"""InteriorVideo: the data side of the platform, below every other package.

Its job is everything from a scene to a stored clip, and the one reader of what is stored:

* :mod:`.schema` — the clip contract (pass names, dtypes, shapes, ranges; ``check_clip``, ``validate``);
* :mod:`.scene` — the scene model, the procedural apartment generator, importers, GLB/JSON I/O;
* :mod:`.edits` — scene edits (``AlbedoEdit``, ``MaterialEdit``, ``LightEdit``, ``apply_scene_edits``)
  and intrinsic edits on passes (``apply_edits``), their text form and the bridge between them;
* :mod:`.trajectory` — camera walks (``plan_trajectory``) and their guarantees;
* :mod:`.render` — the CPU renderer of every pass (``Renderer``), ground-truth flow, edited renders;
* :mod:`.colour` — sRGB and Reinhard, used by the renderer, the model and the benchmark alike;
* :mod:`.shards` — WebDataset samples and shards; :mod:`.dataset` — the dataset folder
  (``Dataset.open``: splits, keys, fingerprint, clips by offset); :mod:`.dataset_check` — validation;
* :mod:`.data` — the torch training reader (``InteriorVideoDataset``, ``collate``), made of the
  webdataset stages in :mod:`.data_stages`;
* :mod:`.fileio` — atomic writes (``atomic_write_bytes``, ``atomic_writer``, ``atomic_directory``)
  and stable digests; :mod:`.cli` — the ``interiorvideo`` commands that need nothing above.

Importing the package imports none of these (each pulls heavy libraries: open3d, torch).
"""
