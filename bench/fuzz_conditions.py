"""Fuzz the condition parser: how many strings give something other than the library's error.

``python bench/fuzz_conditions.py [N]`` parses N strings (30,000 by default, fixed seed):
random text, mutations of valid conditions (with huge numbers, odd digits, operators, quotes
spliced in) and nesting up to 10,000 deep. It prints the count of each outcome: ``ok`` (a
condition), ``ConditionParseError``, and any other exception type, with one example of each.
Issue 12 item 12's figures come from here; tests/conds/test_parse.py keeps the property.
"""

from __future__ import annotations

import collections
import random
import re
import sys

from skylaunch.conds import parse_condition
from skylaunch.exc import ConditionParseError

VALID = [
    "true",
    "false",
    "every 10 seconds",
    "every 1 days 1 hours 30 minutes",
    "daily",
    "daily between 10:00 and 12:00",
    "daily after 10:00",
    "weekly on Monday",
    "monthly starting 3rd",
    "time of day between 10:00 and 12:00",
    "after task 'fetch'",
    "after task 'fetch' failed",
    "after tasks 'a', 'b'",
    "after any tasks 'a', 'b' failed",
    "scheduler has more than 3 cycles",
    "scheduler has run over 10 minutes",
    "retry 3",
    "retry",
    "has succeeded today",
    "task 'x' has failed this hour",
    "has run more than 3 times today",
    "cron * * * * *",
    "cron 0 */2 * * 1-5",
    "env 'A'",
    "param 'x', 'y'",
    "time of week between Mon and Fri",
    "daily & time of day between 10:00 and 12:00 | retry 3",
    "~(true & false) | false",
    "task 'x' is running",
    "is running more than 2 times",
    "hourly between 15:00 and 45:00",
    "every 2.5 hours",
    "time of month between 1st and 5th",
    "minutely",
]
ALPHABET = " &|~(),'\"0123456789:.abcdefghijklmnopqrstuvwxyz-*/ùé\x00\n"
BIG = ["9" * 30, "1e308", "99999999999999999999", "10**20", "9" * 400, "0.0000001", "1" + "0" * 25]


def mutate(rng: random.Random, text: str) -> str:
    chars = list(text)
    for _ in range(rng.randint(1, 4)):
        op = rng.randrange(5)
        at = rng.randrange(len(chars) + 1)
        if op == 0 and chars:
            chars.pop(min(at, len(chars) - 1))
        elif op == 1:
            chars.insert(at, rng.choice(ALPHABET))
        elif op == 2:
            chars[at:at] = list(rng.choice(BIG))
        elif op == 3 and chars:
            chars[min(at, len(chars) - 1)] = rng.choice(ALPHABET)
        else:
            joined = re.sub(
                r"\d+", lambda m: rng.choice([*BIG, m.group()]), "".join(chars), count=1
            )
            chars = list(joined)
    return "".join(chars)


def generate(rng: random.Random) -> str:
    kind = rng.random()
    if kind < 0.2:
        return "".join(rng.choice(ALPHABET) for _ in range(rng.randint(0, 30)))
    if kind < 0.9:
        return mutate(rng, rng.choice(VALID))
    if kind < 0.95:
        return " & ".join(mutate(rng, rng.choice(VALID)) for _ in range(3))
    depth = rng.choice([10, 500, 2000, 10000])
    return rng.choice(
        [
            "(" * depth + "true" + ")" * depth,
            "~" * depth + "true",
            "(~" * depth + "true" + ")" * depth,
        ]
    )


def main(n: int) -> None:
    rng = random.Random(12)
    counts: collections.Counter[str] = collections.Counter()
    examples: dict[str, str] = {}
    for _ in range(n):
        text = generate(rng)
        try:
            parse_condition(text)
        except ConditionParseError:
            counts["ConditionParseError"] += 1
        except Exception as exc:
            name = type(exc).__name__
            counts[name] += 1
            examples.setdefault(name, f"{text[:60]!r}: {str(exc)[:100]}")
        else:
            counts["ok"] += 1
    print(f"{n:,} strings: {dict(counts)}")
    for name, example in examples.items():
        print(f"  {name}, e.g. {example}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 30_000)
