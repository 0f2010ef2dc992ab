"""Every read of the dataset folder that training makes, in one place (so the dataset index reader
can be swapped here alone): the training clips, the batch count per epoch, the first stage's clips."""

from __future__ import annotations

from interiorvideo.data import InteriorVideoDataset, shard_entries

from ..vae import VAE_PASSES
from .config import TrainConfig

TRAIN_PASSES = ("rgb", "albedo", "normal", "roughness", "metallic", "irradiance", "instance")


def batches_per_epoch(data: str, batch_size: int, world_size: int) -> int:
    """Batches every rank can make each epoch whatever shards it gets: ranks must step together."""
    counts = sorted(int(e.get("clips", 0)) for e in shard_entries(data, "train"))
    per_rank = sum(counts[: len(counts) // world_size]) if world_size > 1 else sum(counts)
    n = per_rank // batch_size
    if n < 1:
        raise ValueError(f"{data}: {sum(counts)} training clips in {len(counts)} shards give no batch of "
                         f"{batch_size} per process for {world_size} process(es); lower --batch-size")
    return n


def make_dataset(cfg: TrainConfig, window: int, rank: int, world_size: int) -> InteriorVideoDataset:
    return InteriorVideoDataset(dataset_dir=cfg.data, split="train", frames=window + 1, size=cfg.size, crop="random",
                                passes=TRAIN_PASSES, shuffle=cfg.shuffle, shardshuffle=True, seed=cfg.seed,
                                short="skip", rank=rank, world_size=world_size)


def vae_training_clips(cfg: TrainConfig) -> InteriorVideoDataset:
    """The tiny first stage's training clips: random crops, 4 frames, the image passes."""
    return InteriorVideoDataset(dataset_dir=cfg.data, split="train", frames=4, size=cfg.size, crop="random",
                                passes=VAE_PASSES, shuffle=cfg.shuffle, seed=cfg.seed, short="skip", rank=0,
                                world_size=1)


def vae_probe_clips(cfg: TrainConfig) -> InteriorVideoDataset:
    """Fixed clips (centre crop, first frames) that measure the first stage's latent scale factors."""
    return InteriorVideoDataset(dataset_dir=cfg.data, split="train", frames=4, size=cfg.size, crop="center",
                                temporal="first", passes=VAE_PASSES, rank=0, world_size=1, short="skip")
