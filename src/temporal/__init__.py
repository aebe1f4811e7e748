"""stackchain's Temporal workflows, activities and worker."""
