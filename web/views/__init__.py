"""One blueprint per surface: tasks, instances, office, audit, admin."""
