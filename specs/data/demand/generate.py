"""Writes the demand-forecast example's data, deterministically: sales.csv and promotions.csv.

Plain Python (no numpy), fixed seed and formatting, so the bytes and the sha256 pins in
specs/demand-forecast.yaml hold on every machine. Run from anywhere:
    python specs/data/demand/generate.py
"""

from __future__ import annotations

import random
from pathlib import Path

HERE = Path(__file__).resolve().parent
STORES = [f"S{n:02d}" for n in range(1, 9)]
WEEKS = 30  # 8 stores x 7 days x 30 weeks = 1680 daily rows


def promotions(rng: random.Random) -> list[tuple[str, int, bool]]:
    return [(store, day, rng.random() < 0.3) for store in STORES for day in range(7)]


def sales(rng: random.Random, promo: dict[tuple[str, int], bool]) -> list[list[str]]:
    rows = []
    for week in range(WEEKS):
        for index, store in enumerate(STORES):
            for day in range(7):
                price = rng.uniform(2.0, 8.0)
                temperature = rng.gauss(15.0 + 10.0 * ((week % 52) / 52), 6.0)
                units = (
                    40.0 - 3.0 * price + 12.0 * promo[store, day] + 1.5 * day
                    + 1.2 * index + 0.2 * temperature + rng.gauss(0.0, 1.5)
                )  # fmt: skip
                shown = "" if rng.random() < 0.02 else f"{temperature:.1f}"  # 2% missing
                rows.append([store, str(day), f"{price:.2f}", shown, f"{max(units, 0.0):.2f}"])
    return rows


def main() -> None:
    rng = random.Random(20261120)
    promo_rows = promotions(rng)
    promo = {(store, day): flag for store, day, flag in promo_rows}
    lines = ["store_id,day_of_week,promo"]
    lines += [f"{store},{day},{'true' if flag else 'false'}" for store, day, flag in promo_rows]
    (HERE / "promotions.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    lines = ["store_id,day_of_week,price,temperature_c,units"]
    lines += [",".join(row) for row in sales(rng, promo)]
    (HERE / "sales.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
