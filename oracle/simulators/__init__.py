"""HTTP simulators of the oracle's four off-chain sources (DMV, T-Box telematics, market prices, loan servicing).

They serve deterministic data from a seed over a simulated clock, so the oracle can be tested end to end against real
HTTP services: see ``fleet`` (the generated vehicles and loans), ``simulation`` (state, feeds, scenarios), ``apps``
(the FastAPI factories) and ``server`` (``SimulatorServer`` and ``python -m oracle.simulators``). The car models and
regions come from ``oracle.reference``, which the oracle reads too. Tests, the demo, the tools (``oracle.tools``) and
``make up`` use the simulators; the running oracle never imports them.
"""

from oracle.reference import Region
from oracle.simulators.fleet import Fleet, Loan, Vehicle, generate_fleet
from oracle.simulators.server import SimulatorServer
from oracle.simulators.simulation import Simulation

__all__ = ["Fleet", "Loan", "Region", "Simulation", "SimulatorServer", "Vehicle", "generate_fleet"]
