"""The plant: the AI4I process's documented physics, the simulator, and the scenarios."""
