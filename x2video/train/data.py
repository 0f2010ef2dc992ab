"""What training reads from the dataset, all from one opened :class:`interiorvideo.dataset.Dataset`:
the training clips, the batch count per epoch, the first stage's clips."""

from __future__ import annotations

from interiorvideo.data import InteriorVideoDataset
from interiorvideo.dataset import Dataset

from ..latent_cache import LatentCache
from ..vae import VAE_PASSES
from .config import TrainConfig
from .latent_data import LatentClipDataset

TRAIN_PASSES = ("rgb", "albedo", "normal", "roughness", "metallic", "irradiance", "instance")


def batches_per_epoch(data: Dataset, batch_size: int, world_size: int) -> int:
    """Batches every rank can make each epoch whatever shards it gets: ranks must step together."""
    counts = sorted(e.clips for e in data.shards_of("train"))
    per_rank = sum(counts[: len(counts) // world_size]) if world_size > 1 else sum(counts)
    n = per_rank // batch_size
    if n < 1:
        raise ValueError(f"{data.root}: {sum(counts)} training clips in {len(counts)} shards give no batch of "
                         f"{batch_size} per process for {world_size} process(es); lower --batch-size")
    return n


def make_dataset(cfg: TrainConfig, data: Dataset, window: int, rank: int, world_size: int) -> InteriorVideoDataset:
    return InteriorVideoDataset(dataset_dir=data, split="train", frames=window + 1, size=cfg.size, crop="random",
                                passes=TRAIN_PASSES, shuffle=cfg.shuffle, shardshuffle=True, seed=cfg.seed,
                                short="skip", rank=rank, world_size=world_size)


def make_latent_dataset(cfg: TrainConfig, cache: LatentCache, window: int, rank: int,
                        world_size: int) -> LatentClipDataset:
    """make_dataset's windows, read from a latent cache (same seeds, same order)."""
    return LatentClipDataset(cache, split="train", frames=window + 1, shuffle=cfg.shuffle, shardshuffle=True,
                             seed=cfg.seed, rank=rank, world_size=world_size)


VAE_CROP_FRAMES = 4  # frames per clip the first stage's readers take


def vae_training_clips(cfg: TrainConfig, data: Dataset) -> InteriorVideoDataset:
    """The tiny first stage's training clips: random crops, 4 frames, the image passes."""
    return InteriorVideoDataset(dataset_dir=data, split="train", frames=VAE_CROP_FRAMES, size=cfg.size, crop="random",
                                passes=VAE_PASSES, shuffle=cfg.shuffle, seed=cfg.seed, short="skip", rank=0,
                                world_size=1)


def vae_probe_clips(cfg: TrainConfig, data: Dataset) -> InteriorVideoDataset:
    """Fixed clips (centre crop, first frames) that measure the first stage's latent scale factors."""
    return InteriorVideoDataset(dataset_dir=data, split="train", frames=VAE_CROP_FRAMES, size=cfg.size, crop="center",
                                temporal="first", passes=VAE_PASSES, rank=0, world_size=1, short="skip")
