"""The dynamic vehicle risk score: vehicle health, driving behaviour and market residual in one 0-100 score.

- :mod:`oracle.risk.model`: the score itself (pure: inputs + model parameters -> score and breakdown).
- :mod:`oracle.risk.portfolio`: a simulated loan portfolio whose outcomes depend on documented latent factors.
- :mod:`oracle.risk.calibration`: refitting the weights, AUC and KS on held-out loans against static rules.
- :mod:`oracle.risk.job`: scoring the oracle's vehicles on a schedule and on new evidence, anchoring changes.
"""
