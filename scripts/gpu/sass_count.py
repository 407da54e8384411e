#!/usr/bin/env python3
"""sass_count.py SASS RNN_STEP_CU [--max X] — issue slots per neuron-step of the simulation kernel.

SASS is `nvdisasm -g` of the kernels' cubin (built with -lineinfo), RNN_STEP_CU the source it was
built from. In the function rnn_step_kernel<3, 1, 0> (shape N4_R4: the B = 4096, n = 1024, k = 3
case; the plain variant, without state-dependent Ŝ and neuron noise, whose paths it does not
compile) it counts the instructions whose kernel-level source line lies in the fused pass of a
step, from "the fused pass of step s" to its warp_reduce_store of a (the Ŵ_s reduction
included), and divides by the neuron updates of a thread per step (npt · R = 16). That pass is unrolled straight-line code, so every instruction is
one issue slot of the warp per step, predicated-off ones included. The check: exactly npt · R
MUFU.EX2 in the region (one tanh per update; a duplicated pass would double them).
Prints "issue slots per neuron-step: X (N instructions / 16 updates ...; FFMA f, LDS l, ...)";
exit 1 when X is over --max (a regression past the figure recorded in kernels/NOTES.md).
"""
import re
import sys
from collections import Counter

K, SHAPE, FEATURES = 3, 1, 0  # k = 3, N4_R4, the plain variant
UPDATES = 16  # npt 4 × R 4 neuron updates per thread and step


def fused_pass_lines(source):
    lines = open(source).read().splitlines()
    start = next(i for i, t in enumerate(lines, 1) if "the fused pass of step s" in t)
    end = next(i for i, t in enumerate(lines, 1)
               if i > start and "warp_reduce_store<N>(acc" in t)
    return start, end


def main():
    args = sys.argv[1:]
    limit = float(args[args.index("--max") + 1]) if "--max" in args else None
    sass, source = [a for i, a in enumerate(args) if a != "--max" and
                    (i == 0 or args[i - 1] != "--max")][:2]
    start, end = fused_pass_lines(source)
    name = re.compile(rf"^\.text\.\S*rnn_step_kernelILi{K}ELi{SHAPE}ELi{FEATURES}EEEv10sim_params:")
    plain = re.compile(r'^\s*//## File "[^"]*rnn_step\.cu", line (\d+)\s*$')
    instruction = re.compile(r"^\s*/\*[0-9a-f]+\*/\s+(@!?U?P\w+\s+)?([A-Z][A-Z0-9_.]*)")
    inside, line, ops, ex2 = False, 0, Counter(), 0
    for text in open(sass, errors="replace"):
        if text.startswith(".text."):
            inside = bool(name.match(text))
            continue
        if not inside:
            continue
        m = plain.match(text)
        if m:
            line = int(m.group(1))
            continue
        m = instruction.match(text)
        if m and start <= line <= end:
            ops[m.group(2).split(".")[0]] += 1
            ex2 += m.group(2) == "MUFU.EX2"
    total = sum(ops.values())
    if ex2 != UPDATES:
        print(f"sass_count: {ex2} MUFU.EX2 in lines {start}-{end} of {source} for "
              f"rnn_step_kernel<{K}, {SHAPE}, {FEATURES}>, expected {UPDATES}: not the pass it counts",
              file=sys.stderr)
        return 2
    slots = total / UPDATES
    detail = ", ".join(f"{op} {count}" for op, count in ops.most_common(8))
    print(f"issue slots per neuron-step: {slots:.1f} ({total} instructions / {UPDATES} updates "
          f"per thread and step; {detail})")
    if limit is not None and round(slots, 1) > limit:  # the figure as printed
        print(f"sass_count: {slots:.1f} issue slots per neuron-step, over the recorded {limit:g}"
              " (kernels/NOTES.md)", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
