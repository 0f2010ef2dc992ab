"""Model configurations: ``sd21`` (the real size: Stable Diffusion 2.1's UNet, v-prediction,
widened to the 23-channel intrinsic input) and ``tiny`` (built in-process, trains on a CPU in
minutes; used by tests and the demo). Window length and the head split of Hybrid
Self-Attention — where the paper is silent — are named values here."""

from __future__ import annotations

from dataclasses import dataclass, field

from diffusers import UNet2DConditionModel

from .attention import HybridSelfAttnProcessor, MaskedCrossAttnProcessor
from .conditioning import UNET_IN_CHANNELS

# stabilityai/stable-diffusion-2-1 unet/config.json, with the input widened to 23 channels.
SD21_UNET = dict(
    sample_size=96, in_channels=UNET_IN_CHANNELS, out_channels=4, center_input_sample=False, flip_sin_to_cos=True,
    freq_shift=0, down_block_types=("CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D",
                                    "DownBlock2D"),
    up_block_types=("UpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D"),
    only_cross_attention=False, block_out_channels=(320, 640, 1280, 1280), layers_per_block=2, downsample_padding=1,
    mid_block_scale_factor=1, act_fn="silu", norm_num_groups=32, norm_eps=1e-5, cross_attention_dim=1024,
    attention_head_dim=(5, 10, 20, 20), dual_cross_attention=False, use_linear_projection=True,
    upcast_attention=True,
)

TINY_UNET = dict(
    sample_size=16, in_channels=UNET_IN_CHANNELS, out_channels=4, down_block_types=("CrossAttnDownBlock2D",
                                                                                      "CrossAttnDownBlock2D", "DownBlock2D"),
    up_block_types=("UpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D"), block_out_channels=(32, 64, 64),
    # diffusers reads attention_head_dim as the number of heads here (num_attention_heads is refused):
    # 2 heads of 16 and 32 channels. 8 heads of 4–8 channels cost the 16-frame hybrid step 1.87× the
    # per-frame step against 1.17×, for no quality (docs/performance.md, "Tiny model's head count").
    layers_per_block=1, norm_num_groups=8, cross_attention_dim=384, attention_head_dim=2,
    use_linear_projection=True,
)


@dataclass(frozen=True)
class ModelConfig:
    name: str
    unet: dict = field(default_factory=dict)
    window: int = 8  # frames denoised jointly (the paper does not state it)
    temporal_heads_fraction: float = 0.25  # share of heads with temporal attention
    # Temporal heads see frame 0 + this many nearby frames: full attention at the training window,
    # linear cost beyond it (docs/performance.md, "Temporal neighbourhood"). None: every frame.
    temporal_neighbours: int | None = 7
    prediction_type: str = "v_prediction"


CONFIGS = {
    "sd21": ModelConfig("sd21", SD21_UNET),
    "tiny": ModelConfig("tiny", TINY_UNET, window=4, temporal_neighbours=3),
}


def get_config(name: str) -> ModelConfig:
    if name not in CONFIGS:
        raise KeyError(f"unknown model config {name!r}; known: {', '.join(CONFIGS)}")
    return CONFIGS[name]


def build_unet(config: ModelConfig) -> UNet2DConditionModel:
    """A randomly initialised UNet of the configuration with X2Video's processors installed."""
    unet = UNet2DConditionModel(**config.unet)
    install_processors(unet)
    return unet


def install_processors(unet: UNet2DConditionModel) -> None:
    """Hybrid Self-Attention on every self-attention (attn1), Masked Cross-Attention on every
    cross-attention (attn2); processors are swapped in, the UNet is not forked."""
    unet.set_attn_processor({name: HybridSelfAttnProcessor() if name.endswith("attn1.processor")
                             else MaskedCrossAttnProcessor() for name in unet.attn_processors})
