"""What is not the running oracle: the ``consortium oracle`` commands (``cli``), the benchmark (``bench``), the
residual estimator's error on simulated sales (``holdout``) and the dev-chain set-up (``devsetup``).

Tools may use the simulators (``oracle.simulators``); the running oracle never does. The running oracle reaches in
here only on a dev chain, for the dev accounts and the one-vote set-up of ``devsetup``.
"""
