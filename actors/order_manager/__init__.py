"""The OrderManager: the actor (``actor``), the driver of its planner's steps (``driver``) and
its shutdown (``shutdown``). The rules are in ``trading.planner``, the venue in
``venue.gateway``."""

from actors.order_manager.actor import HOUSEKEEPING_S, OrderManager
from actors.order_manager.shutdown import SHUTDOWN_ASK_TIMEOUT_S

__all__ = ["HOUSEKEEPING_S", "SHUTDOWN_ASK_TIMEOUT_S", "OrderManager"]
