"""Stage 3: run the plan's DAG (parallel ready tasks, resources, cancel) with the runners."""
