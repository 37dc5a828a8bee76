from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from faker import Faker


@dataclass
class SeedContext:
    """What one seeding run shares between the stage seeders."""

    seed: int
    patients_wanted: int
    today: date
    allow_demo_accounts: bool
    rng: random.Random = field(init=False)
    fake: Faker = field(init=False)
    staff: dict[str, Any] = field(default_factory=dict)
    patient_ids: list[int] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    appointments: dict[str, list[int]] = field(default_factory=dict)  # by type code, set by the scheduling seeder
    series_ids: list[int] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)
        self.fake = Faker("en_US")
        self.fake.seed_instance(self.seed)
