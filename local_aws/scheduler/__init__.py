"""EventBridge Scheduler schedules that fire: moto stores them, the local AWS runs them (see `fire` and `loop`)."""
