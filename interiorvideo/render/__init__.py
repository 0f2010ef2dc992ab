"""The CPU renderer (open3d ray casting): intrinsic passes, irradiance, physically based RGB,
ground-truth optical flow."""

from .renderer import RENDERER_VERSION, Renderer, RenderSettings

__all__ = ["RENDERER_VERSION", "RenderSettings", "Renderer"]
