"""Zero-terminal-SNR, v-prediction, trailing-spacing schedules."""

from __future__ import annotations

import torch

from x2video.schedulers import sampling_scheduler, training_scheduler


def test_zero_terminal_snr_and_v_prediction():
    s = training_scheduler()
    assert s.alphas_cumprod[-1] == 0  # the last training step is pure noise
    assert s.config.prediction_type == "v_prediction"
    x0, noise = torch.randn(2, 4, 8, 8), torch.randn(2, 4, 8, 8)
    t = torch.tensor([999, 999])
    noisy = s.add_noise(x0, noise, t)
    torch.testing.assert_close(noisy, noise)  # at zero SNR nothing of the sample is left
    v = s.get_velocity(x0, noise, t)
    torch.testing.assert_close(v, -x0)  # v = alpha·eps − sigma·x0 with alpha = 0, sigma = 1


def test_ddim_trailing_spacing_starts_at_the_last_timestep():
    s = sampling_scheduler()
    s.set_timesteps(10)
    assert int(s.timesteps[0]) == 999 and len(s.timesteps) == 10
    assert torch.all(s.timesteps[:-1] > s.timesteps[1:])
