"""The machine: files written whole (:mod:`~initlab.runtime.atomic`), progress on stderr
(:mod:`~initlab.runtime.progress`), worker processes (:mod:`~initlab.runtime.workers`), free
cores and memory (:mod:`~initlab.runtime.cores`), estimates of a run's memory and time
(:mod:`~initlab.runtime.budget`) and TOML files (:mod:`~initlab.runtime.tomlfile`). The lowest
layer: it imports nothing of initlab but :mod:`initlab.errors`.
"""
