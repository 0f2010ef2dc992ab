"""Training X2Video on InteriorVideo shards with accelerate: one CPU, one GPU, several GPUs or nodes
(``accelerate launch`` / torchrun) run the same code.

Each optimisation step draws its randomness (window length, reference and anchor frames, noise,
timesteps, prompt / channel / local-prompt dropout) from a generator seeded by (seed, step,
micro-batch, rank), and the data order is a pure function of (seed, epoch); a checkpoint therefore
only needs the weights, the optimiser, the lr schedule, the EMA and (step, epoch, batch) to resume
*exactly*: the next loss after a resume equals the uninterrupted run's.

Modules: :mod:`.config` (settings, resume guard), :mod:`.data` (every read of the dataset folder),
:mod:`.loss` (one micro-batch's objective), :mod:`.checkpoint` (accelerate state, export),
:mod:`.loop` (:func:`train`).

Run folder::

    RUN/train_config.json   the settings (a resume must match them, max_steps aside)
    RUN/vae/                tiny only: the first-stage VAE + per-pass latent scale factors
    RUN/checkpoints/step-NNNNNNN/  accelerate's save_state (model.safetensors, optimizer.bin,
                            scheduler.bin, random_states_<rank>.pkl), ema/ (safetensors), state.json
    RUN/train_log.csv       step, epoch, loss, lr, seconds
    RUN/tensorboard/        the same curves for TensorBoard
    RUN/pipeline/           the final X2VideoPipeline (EMA weights), diffusers layout
"""

from .config import TrainConfig
from .loop import TrainResult, train

__all__ = ["TrainConfig", "TrainResult", "train"]
