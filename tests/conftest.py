import jax

# Everything compared against a closed form runs in float64 (the library itself never flips this).
jax.config.update("jax_enable_x64", True)
