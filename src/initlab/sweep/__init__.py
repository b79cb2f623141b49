"""Sweeps: grids of any experiment, a resumable SQLite store, local processes or Dask.

A sweep file names one experiment, fixed options and a grid (:mod:`initlab.sweep.grid`);
every grid point is one configuration for ``initlab run``. ``initlab sweep run`` runs the
points on local processes or Dask (:mod:`initlab.sweep.schedulers`) into a store
(:mod:`initlab.sweep.store`) that survives being stopped; :func:`load` reads it back.

>>> import initlab.sweep
>>> rows = initlab.sweep.load("sweep.db")   # doctest: +SKIP
"""

from initlab.sweep.grid import Point, Sweep, parse_sweep, read_sweep
from initlab.sweep.store import Store
from initlab.sweep.table import load

__all__ = ["Point", "Store", "Sweep", "load", "parse_sweep", "read_sweep"]
