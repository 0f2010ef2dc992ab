"""Noise schedules as RGB↔X trains and samples: Stable Diffusion's scaled-linear betas rescaled
to zero terminal SNR, v-prediction, and trailing timestep spacing for DDIM sampling (Lin et al.,
"Common Diffusion Noise Schedules and Sample Steps are Flawed"). diffusers' schedulers, configured;
any other diffusers scheduler can be swapped in from the same config."""

from __future__ import annotations

from diffusers import DDIMScheduler, DDPMScheduler

SCHEDULE = dict(num_train_timesteps=1000, beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear",
                prediction_type="v_prediction", rescale_betas_zero_snr=True, timestep_spacing="trailing",
                clip_sample=False)


def training_scheduler() -> DDPMScheduler:
    return DDPMScheduler(**SCHEDULE)


def sampling_scheduler() -> DDIMScheduler:
    # With zero terminal SNR the last step must land on the clean sample (set_alpha_to_one).
    return DDIMScheduler(**SCHEDULE, set_alpha_to_one=True)
