"""Multi-process training, proven on this machine: `accelerate launch --multi_gpu --num_processes 2`
(on a machine without GPUs accelerate runs the ranks on the CPU with gloo; plain `--cpu` starts one
process) trains the tiny X2Video for two steps. The ranks read disjoint shards, and the weights equal
those of the documented single-process equivalent, computed here in-process: each step, both ranks'
micro-batches (rank r: its shards, its generator (seed, step, 0, r)), their gradients averaged as DDP
averages them, clipped to norm 1, one AdamW step."""

from __future__ import annotations

import os
import socket
import subprocess
import sys

import pytest
import torch
from diffusers.optimization import get_scheduler
from safetensors.torch import load_file
from torch.utils.data import DataLoader

from interiorvideo.data import collate
from interiorvideo.dataset import Dataset
from x2video.components import load_first_stage, tiny_pipeline
from x2video.schedulers import training_scheduler
from x2video.seeding import step_generator
from x2video.train import TrainConfig
from x2video.train.data import make_dataset
from x2video.train.loss import PromptCache, training_loss

STEPS, BATCH, LR, WARMUP, SIZE = 2, 1, 1e-3, 1, 32


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _reference_weights(cfg: TrainConfig, run, rank_data: tuple[int, int]) -> dict[str, torch.Tensor]:
    """The single-process equivalent of the 2-rank run; ``rank_data`` says whose shards each
    rank's micro-batch reads (the true run: (0, 1))."""
    vae, scales = load_first_stage(run / "vae")
    pipe = tiny_pipeline(vae, scales, seed=cfg.seed)
    unet = pipe.unet.train()
    opt = torch.optim.AdamW(unet.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay, foreach=True)  # as train
    sched = get_scheduler("constant_with_warmup", opt, num_warmup_steps=cfg.warmup_steps)
    data = Dataset.open(cfg.data)
    loaders = [iter(DataLoader(make_dataset(cfg, data, pipe.config.window, r, 2), batch_size=cfg.batch_size,
                               collate_fn=collate)) for r in range(2)]
    batches = {r: [next(loaders[r]) for _ in range(STEPS)] for r in range(2)}
    prompts, noise = PromptCache(pipe), training_scheduler()
    for step in range(STEPS):
        for rank in range(2):
            batch = batches[rank_data[rank]][step]
            loss = training_loss(pipe, unet, batch, step_generator(cfg.seed, step, 0, rank), cfg, prompts, noise,
                                 torch.device("cpu"))
            (loss / 2).backward()  # DDP: the mean of the ranks' gradients
        torch.nn.utils.clip_grad_norm_(unet.parameters(), 1.0)
        opt.step()
        sched.step()
        opt.zero_grad(set_to_none=True)
    return {k: v.detach().clone() for k, v in unet.state_dict().items()}


@pytest.mark.slow
def test_two_ranks_see_disjoint_shards_and_match_the_single_process_equivalent(built_dataset, tmp_path):
    run = tmp_path / "ddp"
    cfg = TrainConfig(data=str(built_dataset), out=str(run), size=SIZE, vae_steps=4, batch_size=BATCH, lr=LR,
                      warmup_steps=WARMUP, max_steps=STEPS, checkpoint_every=STEPS, log_every=1, latents="off")
    env = {**os.environ, "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1"}
    cmd = [sys.executable, "-m", "accelerate.commands.launch", "--multi_gpu", "--num_processes", "2",
           "--num_machines", "1", "--mixed_precision", "no", "--dynamo_backend", "no", "--main_process_port", str(_free_port()),
           "-m", "x2video.cli", "train", "--data", cfg.data, "--out", cfg.out, "--size", str(SIZE),
           "--vae-steps", "4", "--batch-size", str(BATCH), "--lr", str(LR), "--warmup-steps", str(WARMUP),
           "--max-steps", str(STEPS), "--checkpoint-every", str(STEPS), "--log-every", "1", "--latents", "off"]
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    launched = load_file(run / "checkpoints" / f"step-{STEPS:07d}" / "model.safetensors")

    data = Dataset.open(cfg.data)
    keys = [{s["key"] for s in make_dataset(cfg, data, 4, r, 2)} for r in range(2)]
    assert keys[0] and keys[1] and not keys[0] & keys[1], keys  # disjoint shards per rank
    assert keys[0] | keys[1] == set(data.keys("train"))

    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # as each launched rank (OMP_NUM_THREADS=1): the same kernels, the same rounding
    try:
        expected = _reference_weights(cfg, run, (0, 1))
        same_data = _reference_weights(cfg, run, (0, 0))
    finally:
        torch.set_num_threads(threads)
    start = tiny_pipeline(*load_first_stage(run / "vae"), seed=cfg.seed).unet.state_dict()
    moved = max(float((expected[k] - start[k]).abs().max()) for k in expected)
    assert moved > 1e-4  # two steps really moved the weights
    worst = max(float((launched[k] - expected[k]).abs().max()) for k in expected)
    assert worst == 0.0, worst  # bit for bit: gloo's mean of two ranks' gradients is the reference's
    # The test can tell: had rank 1 read rank 0's shards, the weights would differ.
    assert max(float((launched[k] - same_data[k]).abs().max()) for k in expected) > 1e-6
