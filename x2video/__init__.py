"""X2Video: the diffusers-based video model — intrinsic conditioning, Hybrid Self-Attention, Masked
Cross-Attention, training, and sampling with Recursive Sampling.

Public names, by module (import them from there; importing the package loads nothing heavy):

* :mod:`.pipeline` — ``X2VideoPipeline`` (a ``DiffusionPipeline``: ``from_pretrained(DIR)(intrinsics, ...)``
  returns ``X2VideoPipelineOutput``), ``load_pipeline``, ``saved_window``;
* :mod:`.sampling` — ``sample_video`` (what ``__call__`` runs), ``PASS_CHANNELS``;
  :mod:`.schedule` — ``plan_sampling`` (recursive / autoregressive / independent window plans);
* :mod:`.attention` — the attention processors (``AttentionContext``) swapped into the UNet;
  :mod:`.conditioning` — RGB↔X's 23-channel input; :mod:`.configs` — ``tiny`` and ``sd21``;
  :mod:`.components` — pipelines from an export, RGB↔X, SD 2.1 or the tiny first stage;
  :mod:`.vae` — the tiny first-stage VAE; :mod:`.text` — prompt encoders from local files;
  :mod:`.weights` — local weights (``MissingWeightsError`` says what to supply);
* :mod:`.train` — ``TrainConfig``, ``train`` (config, data, loss, checkpoint, loop modules);
* :mod:`.sample_job`, :mod:`.intrinsics_io` — what ``x2v sample`` reads and writes; :mod:`.cli` —
  ``x2v train`` and ``x2v sample``.
"""

__version__ = "0.1.0"
