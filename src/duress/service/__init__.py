"""The service layer: the bus, its handlers, the scheduler and the composition root."""
