"""peer_torch.py — ddm's simulation and training step in PyTorch, the peer of docs/design.md §8.

Variants: eager (idiomatic PyTorch, one kernel per operation), compile (torch.compile of the
step), graph (a CUDA graph of a block of steps; on a GPU only). The step, in float32:
    x ← x(1 − Δt/τ) + (Δt/τ) b + Γ̂ ((Δt/τ) Ŵ_s tanh x + √Δt Ŝ ξ),   ξ ~ N(0, I_m)
and the training step: forward/backward of ‖Ŵ_s tanh(Γ̂ẑ + b) − y‖² over a batch + Adam.
Usage: python3 peer_torch.py [--sizes B:n,...] [--variants eager,compile,graph] [--device cpu]
"""
import math
import sys
import time

import peer_common as pc

try:
    import torch
except ImportError as missing:
    pc.skip("torch", f"PyTorch is not installed ({missing})")
    sys.exit(0)


def sim_rate(variant, device, B, n, seconds):
    gamma, ws, b, s, pinv = (torch.tensor(a, device=device) for a in pc.model(n))
    dt_tau, sqrt_dt = pc.DT / pc.TAU, math.sqrt(pc.DT)
    decay, bias_term = 1.0 - dt_tau, dt_tau * b
    x = torch.zeros(B, n, device=device)

    def step(x, xi):
        coef = dt_tau * (torch.tanh(x) @ ws.T) + sqrt_dt * (xi @ s.T)
        return x * decay + bias_term + coef @ gamma.T

    def readout(x):
        return (x - b) @ pinv.T

    sync = torch.cuda.synchronize if device == "cuda" else (lambda: None)
    state = {"x": x}
    if variant == "graph":
        block = 100
        static_x = x.clone()
        stream = torch.cuda.Stream()
        stream.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(stream):  # warm-up outside the capture
            for _ in range(3):
                static_x.copy_(step(static_x, torch.randn(B, 3, device=device)))
        torch.cuda.current_stream().wait_stream(stream)
        graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(graph):
            y = static_x
            for _ in range(block):
                y = step(y, torch.randn(B, 3, device=device))
            static_x.copy_(y)

        def run(steps):
            for _ in range(max(1, steps // block)):
                graph.replay()
            readout(static_x)
            sync()

        done, elapsed = pc.timed(run, seconds, first_steps=block)
    else:
        # "reduce-overhead": the compiled step is replayed as a CUDA graph, the idiomatic best
        fn = torch.compile(step, mode="reduce-overhead") if variant == "compile" else step

        # a compiled step replayed as a CUDA graph reads its last output: mark each step
        mark = getattr(torch.compiler, "cudagraph_mark_step_begin", lambda: None)

        def run(steps):
            with torch.no_grad():
                for _ in range(steps):
                    mark()
                    state["x"] = fn(state["x"], torch.randn(B, 3, device=device))
                readout(state["x"])
            sync()

        done, elapsed = pc.timed(run, seconds)
    return done * B * n / elapsed


def epoch_seconds(variant, device, n, m_points):
    gamma, ws, b, _, _ = pc.model(n)
    params = [torch.tensor(a, device=device, requires_grad=True) for a in (gamma, b, ws)]
    z, y = (torch.tensor(a, device=device) for a in pc.points(m_points))
    # fused=True: one kernel for the whole update, the fastest Adam PyTorch offers on a GPU
    opt = torch.optim.Adam(params, lr=1e-4, fused=device == "cuda")

    def loss_fn(zb, yb):
        g, bias, w = params
        return ((torch.tanh(zb @ g.T + bias) @ w.T - yb) ** 2).sum(1).mean()

    fn = torch.compile(loss_fn, mode="reduce-overhead") if variant == "compile" else loss_fn
    sync = torch.cuda.synchronize if device == "cuda" else (lambda: None)
    best = float("inf")
    for epoch in range(3):
        t0 = time.perf_counter()
        for start in range(0, m_points, pc.BATCH):
            opt.zero_grad(set_to_none=True)
            fn(z[start:start + pc.BATCH], y[start:start + pc.BATCH]).backward()
            opt.step()
        sync()
        if epoch > 0:
            best = min(best, time.perf_counter() - t0)
    return best


def main():
    args = pc.options("eager,compile,graph")
    device = args.device if args.device != "auto" else ("cuda" if torch.cuda.is_available()
                                                         else "cpu")
    torch.set_num_threads(max(1, torch.get_num_threads()))
    for variant in args.variants:
        if variant == "graph" and device != "cuda":
            pc.skip("torch-graph", "CUDA graphs need a GPU")
            continue
        impl = f"torch-{variant}"
        try:
            for B, n in args.sizes:
                pc.report_sim(impl, device, B, n, sim_rate(variant, device, B, n, args.seconds))
            if variant != "graph":
                for n in args.train_n:
                    pc.report_train(impl, device, n, args.M, epoch_seconds(variant, device, n,
                                                                           args.M))
        except Exception as failure:  # a variant that cannot run here is reported, not fatal
            pc.skip(impl, f"{type(failure).__name__}: {str(failure).splitlines()[0][:120]}")


if __name__ == "__main__":
    main()
