"""stackchain's workflows: one per module."""
