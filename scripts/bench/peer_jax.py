"""peer_jax.py — ddm's simulation and training step in JAX (jit + lax.scan), the peer of §8.

The block of Euler–Maruyama steps is one jitted lax.scan (noise by jax.random inside it); an
epoch of training is one jitted lax.scan over the mini-batches with a hand-written Adam. Same
float32 problem as peer_torch.py (see peer_common.py).
Usage: python3 peer_jax.py [--sizes B:n,...] [--train-n 64,512] [--M 65536]
"""
import math
import sys
import time
from functools import partial

import peer_common as pc

try:
    import jax
    import jax.numpy as jnp
    from jax import lax
except ImportError as missing:
    pc.skip("jax", f"JAX is not installed ({missing})")
    sys.exit(0)

# float32 products in full precision, as ddm and the PyTorch peer compute them (JAX's default
# lets XLA use TF32 on Ampere and Hopper: faster, 10-bit mantissas, not the same problem)
jax.config.update("jax_default_matmul_precision", "highest")


def sim_rate(B, n, seconds):
    gamma, ws, b, s, pinv = (jnp.asarray(a) for a in pc.model(n))
    dt_tau, sqrt_dt = pc.DT / pc.TAU, math.sqrt(pc.DT)
    decay, bias_term = 1.0 - dt_tau, dt_tau * b

    @partial(jax.jit, static_argnums=2)
    def run(x, key, steps):
        def body(carry, _):
            x, key = carry
            key, sub = jax.random.split(key)
            xi = jax.random.normal(sub, (B, pc.K), dtype=jnp.float32)
            coef = dt_tau * (jnp.tanh(x) @ ws.T) + sqrt_dt * (xi @ s.T)
            return (x * decay + bias_term + coef @ gamma.T, key), None

        (x, key), _ = lax.scan(body, (x, key), None, length=steps)
        return x, key, (x - b) @ pinv.T

    state = {"x": jnp.zeros((B, n), jnp.float32), "key": jax.random.PRNGKey(0)}
    block = 100

    def block_run(steps):
        for _ in range(max(1, steps // block)):
            state["x"], state["key"], z = run(state["x"], state["key"], block)
        z.block_until_ready()

    done, elapsed = pc.timed(block_run, seconds, first_steps=block)
    return done * B * n / elapsed


def epoch_seconds(n, m_points):
    gamma, ws, b, _, _ = pc.model(n)
    z, y = pc.points(m_points)
    batches = m_points // pc.BATCH
    zb = jnp.asarray(z[:batches * pc.BATCH]).reshape(batches, pc.BATCH, pc.K)
    yb = jnp.asarray(y[:batches * pc.BATCH]).reshape(batches, pc.BATCH, pc.K)
    params = (jnp.asarray(gamma), jnp.asarray(b), jnp.asarray(ws))
    zeros = jax.tree_util.tree_map(jnp.zeros_like, params)
    lr, b1, b2, eps = 1e-4, 0.9, 0.999, 1e-8

    def loss_fn(p, zs, ys):
        g, bias, w = p
        return jnp.mean(jnp.sum((jnp.tanh(zs @ g.T + bias) @ w.T - ys) ** 2, axis=1))

    @jax.jit
    def epoch(p, m1, m2, t):
        def body(carry, batch):
            p, m1, m2, t = carry
            loss, grad = jax.value_and_grad(loss_fn)(p, *batch)
            t = t + 1
            m1 = jax.tree_util.tree_map(lambda m, g: b1 * m + (1 - b1) * g, m1, grad)
            m2 = jax.tree_util.tree_map(lambda m, g: b2 * m + (1 - b2) * g * g, m2, grad)
            c1, c2 = 1 - b1 ** t, 1 - b2 ** t
            p = jax.tree_util.tree_map(lambda q, a, v: q - lr * (a / c1) / (jnp.sqrt(v / c2) + eps),
                                       p, m1, m2)
            return (p, m1, m2, t), loss

        return lax.scan(body, (p, m1, m2, t), (zb, yb))

    carry, best = (params, zeros, zeros, jnp.float32(0)), float("inf")
    for e in range(3):
        t0 = time.perf_counter()
        carry, losses = epoch(*carry)
        losses.block_until_ready()
        if e > 0:
            best = min(best, time.perf_counter() - t0)
    return best


def main():
    args = pc.options("jit")
    device = pc.device_name(jax.devices()[0].platform)
    impl = "jax-jit-scan"
    try:
        for B, n in args.sizes:
            pc.report_sim(impl, device, B, n, sim_rate(B, n, args.seconds))
        for n in args.train_n:
            pc.report_train(impl, device, n, args.M, epoch_seconds(n, args.M))
    except Exception as failure:
        pc.skip(impl, f"{type(failure).__name__}: {str(failure).splitlines()[0][:120]}")


if __name__ == "__main__":
    main()
