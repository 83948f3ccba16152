"""Real timing, simulated (issue 12): the template's queues, functions and schedules in virtual time,
running the real handlers on moto (dev-only; see docs/reliability.md, "Virtual-clock simulation")."""

from apihub_sim.audit import JobAudit, SimFigures, Sweep
from apihub_sim.kernel import Kernel, LambdaTimeout
from apihub_sim.supplier import SupplierScript
from apihub_sim.world import Simulation

__all__ = ["JobAudit", "Kernel", "LambdaTimeout", "SimFigures", "Simulation", "SupplierScript", "Sweep"]
