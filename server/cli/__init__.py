"""The `likeness` command (main.py) and its admin command groups; imported by nothing else."""
