"""The Panoptes monitor specification (``/m1/``): tasks seen as workflows and runs as jobs,
plus the workflows that clients such as snakemake create and report on themselves."""
