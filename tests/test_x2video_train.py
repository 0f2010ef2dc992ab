"""Training the tiny X2Video: the loss falls on a built dataset, exports round-trip through
save_pretrained / from_pretrained, a resumed run continues exactly, and bad settings fail clearly."""

from __future__ import annotations

import json
import shutil
from dataclasses import replace

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader

from interiorvideo.data import InteriorVideoDataset, collate
from interiorvideo.dataset import DatasetError
from x2video.attention import HybridSelfAttnProcessor, MaskedCrossAttnProcessor
from x2video.components import load_first_stage, tiny_pipeline
from x2video.pipeline import X2VideoPipeline, load_pipeline
from x2video.schedulers import training_scheduler
from x2video.seeding import step_generator
from x2video.train import TrainConfig, train
from x2video.train.data import TRAIN_PASSES
from x2video.train.loss import PromptCache, draw_layout, local_prompts, training_loss


def config(data, out, **kw) -> TrainConfig:
    base = dict(data=str(data), out=str(out), size=32, vae_steps=20, batch_size=2, lr=1e-3, warmup_steps=2,
                checkpoint_every=4, log_every=1, shuffle=4)
    return TrainConfig(**{**base, **kw})


@torch.no_grad()
def _evaluate_loss(pipe: X2VideoPipeline, data: str, cfg: TrainConfig, batches: int = 4, seed: int = 1234) -> float:
    """Mean training loss of ``pipe`` over fixed clips, crops and noise draws: comparable across
    checkpoints (the loss curve itself is noisy by construction)."""
    ds = InteriorVideoDataset(dataset_dir=data, split="train", frames=pipe.config.window + 1, size=cfg.size,
                              crop="center", temporal="first", passes=TRAIN_PASSES, short="skip", rank=0,
                              world_size=1)
    cfg = replace(cfg, p_prompt_drop=0.0, p_channel_drop=0.0, p_all_channels_drop=0.0)
    unet = pipe.unet.eval()
    losses = []
    prompts = PromptCache(pipe)
    for i, batch in enumerate(DataLoader(ds, batch_size=cfg.batch_size, collate_fn=collate)):
        if i >= batches:
            break
        for j in range(4):  # several noise levels per batch
            losses.append(float(training_loss(pipe, unet, batch, step_generator(seed, i, j), cfg, prompts,
                                              training_scheduler(), pipe.device)))
    assert losses, f"{data}: no train clip to evaluate"
    return float(np.mean(losses))


@pytest.fixture(scope="module")
def trained(built_dataset, tmp_path_factory):
    run = tmp_path_factory.mktemp("run") / "tiny"
    cfg = config(built_dataset, run, max_steps=40)
    result = train(cfg, log=lambda m: None)
    return cfg, result


def test_tiny_loss_falls_on_a_built_dataset(built_dataset, trained):
    cfg, result = trained
    vae, scales = load_first_stage(result.run / "vae")
    before = _evaluate_loss(tiny_pipeline(vae, scales, seed=cfg.seed), str(built_dataset), cfg)
    after = _evaluate_loss(load_pipeline(result.run), str(built_dataset), cfg)
    assert result.steps == 40 and len(result.losses) == 40
    assert after < 0.7 * before, (before, after)
    rows = (result.run / "train_log.csv").read_text().splitlines()
    assert rows[0] == "step,epoch,loss,lr,seconds" and len(rows) == 41
    assert any((result.run / "tensorboard").rglob("events.out.tfevents.*"))


def test_export_round_trips_through_diffusers_layout(trained, tmp_path):
    _, result = trained
    pipe = load_pipeline(result.run)
    assert (result.run / "pipeline" / "model_index.json").is_file()
    assert not list((result.run / "pipeline").rglob("*.bin")), "weights must be safetensors"
    assert pipe.config.config_name == "tiny" and pipe.config.window == 4
    assert all(isinstance(p, (HybridSelfAttnProcessor, MaskedCrossAttnProcessor))
               for p in pipe.unet.attn_processors.values())
    pipe.save_pretrained(tmp_path / "again", safe_serialization=True)
    again = load_pipeline(tmp_path / "again")
    assert list(again.config.scale_factors) == list(pipe.config.scale_factors)
    for (name, a), (_, b) in zip(pipe.unet.state_dict().items(), again.unet.state_dict().items()):
        assert torch.equal(a, b), name
    torch.testing.assert_close(again.encode_prompt(["a red sofa"]), pipe.encode_prompt(["a red sofa"]))
    x = torch.randn(2, 23, 8, 8, generator=torch.Generator().manual_seed(0))
    text = pipe.encode_prompt(["a room", "a room"])
    with torch.no_grad():
        torch.testing.assert_close(again.unet(x, 10, text).sample, pipe.unet(x, 10, text).sample)


def test_resume_continues_exactly(built_dataset, trained, tmp_path):
    cfg, full = trained
    run = tmp_path / "resumed"
    run.mkdir()
    shutil.copytree(full.run / "vae", run / "vae")  # same first stage; skips retraining it
    first = train(replace(cfg, out=str(run), max_steps=8), log=lambda m: None)
    second = train(replace(cfg, out=str(run), max_steps=12), log=lambda m: None)
    assert first.losses == full.losses[:8]
    assert second.losses == full.losses[8:12]  # the next losses after a resume equal the uninterrupted run's
    rows = (run / "train_log.csv").read_text().splitlines()
    assert [int(r.split(",")[0]) for r in rows[1:]] == list(range(1, 13))
    states = sorted(p.name for p in (run / "checkpoints").iterdir())
    assert states == ["step-0000008", "step-0000012"]  # keep_checkpoints = 2
    assert json.loads((run / "checkpoints" / "step-0000012" / "state.json").read_text())["step"] == 12


class _RunsCode:
    def __reduce__(self):
        return (print, ("this pickle ran code",))


def test_checkpoints_are_accelerate_state_and_damaged_ones_run_no_code(built_dataset, trained, tmp_path, capsys):
    cfg, full = trained
    last = sorted((full.run / "checkpoints").iterdir())[-1]
    names = {p.name for p in last.iterdir()}
    assert {"model.safetensors", "optimizer.bin", "scheduler.bin", "random_states_0.pkl", "ema",
            "state.json"} <= names
    assert not any(n.startswith("custom_checkpoint") for n in names), "accelerate unpickles those fully"
    assert (last / "ema" / "diffusion_pytorch_model.safetensors").is_file()
    run = tmp_path / "damaged"
    shutil.copytree(full.run, run, ignore=shutil.ignore_patterns("pipeline"))
    target = sorted((run / "checkpoints").iterdir())[-1]
    torch.save({"state": _RunsCode()}, target / "optimizer.bin")
    capsys.readouterr()
    with pytest.raises(ValueError, match=f"checkpoint {target} is damaged or holds something other than weights"):
        train(replace(cfg, out=str(run), max_steps=41), log=lambda m: None)
    assert "this pickle ran code" not in capsys.readouterr().out


def test_resume_with_other_settings_is_refused(built_dataset, trained):
    cfg, full = trained
    with pytest.raises(ValueError, match="other settings .*lr"):
        train(replace(cfg, lr=5e-4, max_steps=41), log=lambda m: None)


def test_window_layouts_keep_a_noisy_frame_and_a_clean_reference():
    cfg = TrainConfig(data="-", out="-", p_reference=0.5, p_anchors=0.5, min_window=2)
    seen_ref = seen_anchor = False
    for step in range(200):
        layout = draw_layout(step_generator(0, step), sample_frames=9, window=8, cfg=cfg)
        n = len(layout.frames) - layout.reference
        assert 2 <= n <= 8
        assert (~layout.clean).any(), "at least one frame must carry loss"
        if layout.reference:
            seen_ref = True
            assert layout.clean[0] and layout.frames == list(range(n + 1))
        else:
            assert layout.frames == list(range(n))
        seen_anchor |= bool(layout.clean[int(layout.reference):].any())
    assert seen_ref and seen_anchor
    again = draw_layout(step_generator(0, 7), 9, 8, cfg)
    assert again.frames == draw_layout(step_generator(0, 7), 9, 8, cfg).frames  # pure function of the seed


def test_local_prompt_masks_follow_instances():
    pipe = tiny_pipeline()
    cfg = TrainConfig(data="-", out="-", p_local=1.0, max_local=2)
    inst = torch.zeros(1, 3, 1, 8, 8, dtype=torch.int64)
    inst[..., :4, :] = 5  # top half: instance 5
    inst[..., 4:, :4] = 9  # bottom-left: instance 9 (no prompt)
    batch = {"instance": inst, "local_prompts": [{5: "a blue chair"}]}
    embeds, masks = local_prompts(batch, [0, 1, 2], step_generator(0, 0), cfg, PromptCache(pipe), (4, 4))
    assert embeds.shape[:2] == (1, 1) and masks.shape == (1, 3, 1, 4, 4)
    assert masks[0, :, 0, :2].all() and not masks[0, :, 0, 2:].any()
    torch.testing.assert_close(embeds[0, 0], pipe.encode_prompt(["a blue chair"])[0])


def test_bad_settings_fail_clearly(tmp_path):
    with pytest.raises(ValueError, match="sd21 needs --init"):
        train(TrainConfig(data=str(tmp_path), out=str(tmp_path / "r"), config="sd21"))
    with pytest.raises(ValueError, match="--p-reference must be in"):
        train(TrainConfig(data=str(tmp_path), out=str(tmp_path / "r"), p_reference=2.0))
    with pytest.raises(DatasetError, match="has no dataset.json"):
        train(TrainConfig(data=str(tmp_path), out=str(tmp_path / "r"), vae_steps=1))
    assert not (tmp_path / "r").exists()  # refused before anything was written


def test_resume_accepts_other_path_spellings_and_guards_the_first_stage(built_dataset, trained, tmp_path,
                                                                         monkeypatch):
    cfg, full = trained
    run = tmp_path / "r"
    run.mkdir()
    shutil.copytree(full.run / "vae", run / "vae")
    train(replace(cfg, out=str(run), max_steps=2, checkpoint_every=2), log=lambda m: None)
    monkeypatch.chdir(built_dataset.parent)
    relative = replace(cfg, data=built_dataset.name, out=str(run), max_steps=3, checkpoint_every=3)
    assert train(relative, log=lambda m: None).steps == 3  # `ds` and /abs/ds are the same data
    fresh = tmp_path / "vae-only"
    fresh.mkdir()
    (fresh / "train_config.json").write_text((run / "train_config.json").read_text())
    shutil.copytree(full.run / "vae", fresh / "vae")  # a first stage made, no checkpoint yet
    with pytest.raises(ValueError, match="other settings .*vae_steps"):
        train(replace(cfg, out=str(fresh), vae_steps=cfg.vae_steps + 1), log=lambda m: None)
