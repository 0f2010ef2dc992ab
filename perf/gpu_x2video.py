"""sd21-size X2Video on a GPU through the real training and sampling code: training steps/s and
peak memory at 512², 8-frame windows (x2video.train.loss.training_loss: bf16 autocast, gradient
checkpointing, per-frame timesteps, Hybrid Self-Attention, Masked Cross-Attention with local
prompts), and Recursive Sampling of a 16-frame video with three-pass guidance.

    python perf/gpu_x2video.py --size 512 --frames 8 --steps 6

Random weights of the real architectures (SD 2.1 UNet widened to 23 channels, SD's VAE, a
1024-wide CLIP text model with a word-level tokenizer): no download, and cost does not depend on
what the weights are.
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np
import torch

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from diffusers import AutoencoderKL, UNet2DConditionModel  # noqa: E402
from tokenizers import Tokenizer, models, pre_tokenizers  # noqa: E402
from transformers import CLIPTextConfig, CLIPTextModel, PreTrainedTokenizerFast  # noqa: E402

from x2video.configs import SD21_UNET  # noqa: E402
from x2video.pipeline import X2VideoPipeline  # noqa: E402
from x2video.sampling import GuidanceConfig, sample_video  # noqa: E402
from x2video.schedulers import sampling_scheduler, training_scheduler  # noqa: E402
from x2video.seeding import step_generator  # noqa: E402
from x2video.train import TrainConfig  # noqa: E402
from x2video.train.loss import PromptCache, training_loss  # noqa: E402

WORDS = "a an the room red blue green wooden sofa chair table lamp wall floor bright dark".split()


def random_sd21_pipeline(device: str) -> X2VideoPipeline:
    torch.manual_seed(0)
    unet = UNet2DConditionModel(**SD21_UNET)
    vae = AutoencoderKL(block_out_channels=(128, 256, 512, 512), down_block_types=("DownEncoderBlock2D",) * 4,
                        up_block_types=("UpDecoderBlock2D",) * 4, layers_per_block=2, latent_channels=4,
                        sample_size=512)
    text = CLIPTextModel(CLIPTextConfig(vocab_size=len(WORDS) + 2, hidden_size=1024, intermediate_size=4096,
                                        num_hidden_layers=23, num_attention_heads=16, max_position_embeddings=77, bos_token_id=0,
                                        eos_token_id=1, pad_token_id=1,
                                        hidden_act="gelu", projection_dim=1024))
    tok = Tokenizer(models.WordLevel({w: i for i, w in enumerate(["[UNK]", "[PAD]"] + WORDS)}, unk_token="[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=tok, unk_token="[UNK]", pad_token="[PAD]")
    pipe = X2VideoPipeline(unet=unet, vae=vae, text_encoder=text, tokenizer=tokenizer, scheduler=sampling_scheduler(),
                           config_name="sd21", window=8, text_max_length=77)
    return pipe.to(device)


def synthetic_batch(frames: int, size: int) -> dict:
    g = torch.Generator().manual_seed(0)
    inst = torch.zeros(1, frames, 1, size, size, dtype=torch.int64)
    inst[..., : size // 2, :] = 3
    inst[..., size // 2:, : size // 2] = 7
    return {"rgb": torch.rand(1, frames, 3, size, size, generator=g) * 2,
            "albedo": torch.rand(1, frames, 3, size, size, generator=g),
            "normal": torch.nn.functional.normalize(torch.randn(1, frames, 3, size, size, generator=g), dim=2),
            "roughness": torch.rand(1, frames, 1, size, size, generator=g),
            "metallic": torch.rand(1, frames, 1, size, size, generator=g),
            "irradiance": torch.rand(1, frames, 3, size, size, generator=g) * 2, "instance": inst,
            "prompt": ["a bright room"], "local_prompts": [{3: "a red sofa", 7: "a wooden table"}]}


def _sync() -> None:
    if torch.cuda.is_available():
        torch.cuda.synchronize()


def _peak() -> float:
    return torch.cuda.max_memory_allocated() / 2 ** 30 if torch.cuda.is_available() else float("nan")


def train_steps(pipe: X2VideoPipeline, frames: int, size: int, steps: int) -> tuple[float, float]:
    cfg = TrainConfig(data="-", out="-", config="sd21", init="-", min_window=frames, p_reference=0.0, p_anchors=0.0,
                      p_local=1.0, size=size)
    pipe.vae.to(dtype=torch.bfloat16).requires_grad_(False)
    pipe.text_encoder.requires_grad_(False)
    unet = pipe.unet.train()
    unet.enable_gradient_checkpointing()
    opt = torch.optim.AdamW(unet.parameters(), lr=1e-5, fused=torch.cuda.is_available())
    batch, prompts, sched = synthetic_batch(frames + 1, size), PromptCache(pipe), training_scheduler()
    if torch.cuda.is_available():
        torch.cuda.reset_peak_memory_stats()
    device = pipe.unet.device
    times = []
    for step in range(steps + 1):
        _sync()
        t = time.perf_counter()
        with torch.autocast(device.type, dtype=torch.bfloat16):
            loss = training_loss(pipe, unet, batch, step_generator(0, step), cfg, prompts, sched, device,
                                 torch.bfloat16)
        loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)
        _sync()
        times.append(time.perf_counter() - t)
        assert torch.isfinite(loss), loss
    return 1.0 / float(np.median(times[1:])), _peak()


def sample(pipe: X2VideoPipeline, frames: int, size: int, steps: int) -> tuple[float, int, float]:
    pipe.unet.eval().to(dtype=torch.bfloat16)
    pipe.text_encoder.to(dtype=torch.bfloat16)
    rng = np.random.default_rng(0)
    x = {"albedo": rng.random((frames, size, size, 3), dtype=np.float32),
         "irradiance": rng.random((frames, size, size, 3), dtype=np.float32)}
    mask = np.zeros((frames, size, size), bool)
    mask[:, : size // 2] = True
    if torch.cuda.is_available():
        torch.cuda.reset_peak_memory_stats()
    out = sample_video(pipe, x, mode="recursive", steps=steps, prompt="a bright room",
                       local_prompts=[(mask, "a red sofa")], guidance=GuidanceConfig(3.0, 1.5, 0.7))
    assert np.isfinite(out.hdr).all()
    return out.seconds, out.model_calls, _peak()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", type=int, default=512)
    ap.add_argument("--frames", type=int, default=8)
    ap.add_argument("--steps", type=int, default=6)
    ap.add_argument("--sample-frames", type=int, default=16)
    ap.add_argument("--sample-steps", type=int, default=10)
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    args = ap.parse_args()
    name = torch.cuda.get_device_name() if args.device == "cuda" else "CPU"
    print(name, "torch", torch.__version__, flush=True)
    pipe = random_sd21_pipeline(args.device)
    sps, mem = train_steps(pipe, args.frames, args.size, args.steps)
    print(f"training: {args.frames} frames at {args.size}²: {sps:.2f} steps/s, peak {mem:.1f} GiB", flush=True)
    seconds, calls, smem = sample(pipe, args.sample_frames, args.size, args.sample_steps)
    print(f"sampling: {args.sample_frames} frames at {args.size}², recursive, {args.sample_steps} steps, 3-pass guidance: "
          f"{seconds:.1f} s, {calls} UNet calls ({calls / seconds:.2f} calls/s), peak {smem:.1f} GiB", flush=True)


if __name__ == "__main__":
    main()
