"""PlantSync: a manufacturing plant's data in one database, kept in step with its ERP."""

__version__ = "0.1.0"
