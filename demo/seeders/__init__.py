"""Demo-data seeders, one module per stage of the care journey, run in journey order.

Each module exposes ``seed(ctx: SeedContext) -> None``. Later stages read what
earlier ones put on the context (patients, staff, appointments …).
"""
