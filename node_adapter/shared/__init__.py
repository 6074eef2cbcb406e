"""Tables node_adapter declares for the packages above it, so that each can read what the other writes without
importing it: :mod:`node_adapter.shared.risk` (risk scores and calibrations, written by the oracle, read by the portal)
and :mod:`node_adapter.shared.health` (feed health, written by the oracle, shown by the portal)."""
