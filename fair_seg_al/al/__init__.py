"""The active-learning loop: inference helpers, the acquisition callback, state, driver."""
