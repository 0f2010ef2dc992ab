"""X2Video: the diffusers-based video model with intrinsic conditioning, Hybrid Self-Attention,
Masked Cross-Attention, training and (Recursive) sampling. Arrives with the model issues."""

__version__ = "0.1.0"
