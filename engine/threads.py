"""How torch's CPU threads wait between pieces of work; chosen before torch loads.

Live captions run a small computation several times a second. Between
parallel regions the OpenMP threads behind torch's CPU kernels spin
(busy-wait) by default. On a computer whose cores are also wanted by another
program (a video call, a browser, a build, a training run) the spinning
threads take turns with it for the cores, each parallel region waits for a
thread that is not running, and captions fall tens of seconds behind. Threads
that sleep while they wait (``OMP_WAIT_POLICY=PASSIVE``) give the cores back.

Measured with ``benchmarks/streaming_under_load.py`` (2-core CPU, a trained model
of the default size, two busy processes beside it): at the default hop, a
real-time factor of 3.22 with spinning threads (finals 38 s late, and later the
longer it runs) against 0.22 with sleeping ones (the last word final 0.65 s
after it was said). On an idle CPU the delays are the same either way (that
figure 0.60 vs 0.61 s); sleeping threads cost some compute there (real-time
factor 0.11 vs 0.06), which the delays do not show.

The OpenMP runtime reads the policy once, when torch loads it, so this must
run before anything imports torch; afterwards it changes nothing.
"""

import os

WAIT_POLICY = "OMP_WAIT_POLICY"


def wait_passively() -> None:
    """Let OpenMP threads sleep while they wait for work, unless the user chose a policy."""
    os.environ.setdefault(WAIT_POLICY, "PASSIVE")
