#!/usr/bin/env python3
"""Generate eigendsl's own initial data for the airline domain.

The output has exactly the shape of the tau2-bench airline database (top-level
``flights``, ``users`` and ``reservations`` maps keyed by id, same field order,
same JSON types), so the same tools run on either, but every value is invented
here: names, ids, routes, schedules, prices, seats, statuses, addresses,
payment methods and passengers.

The domain's clock is fixed at NOW = 2024-05-15T15:00:00 (EST). Flight dates run
2024-05-01 .. 2024-05-30: dates before NOW's day are ``landed`` or ``cancelled``;
on NOW's day a flight is ``landed``, ``flying``, ``on time`` or ``delayed``
according to its times; later dates are ``available`` with seats and prices.

Usage (Python 3.11, standard library only; output is deterministic):

    python scripts/make_airline_data.py           # write domains/airline.data.json
    python scripts/make_airline_data.py --check   # exit 1 if the file is stale
"""

from __future__ import annotations

import datafile  # scripts/datafile.py: the shared write-or-check command line

import datetime as dt
import math
import random
import string
import sys
from pathlib import Path

SEED = 20240515
OUT = Path(__file__).resolve().parent.parent / "domains" / "airline.data.json"

NOW = dt.datetime(2024, 5, 15, 15, 0, 0)
FIRST_DATE = dt.date(2024, 5, 1)
N_DATES = 30
DATES = [FIRST_DATE + dt.timedelta(days=i) for i in range(N_DATES)]
LAST_DATE = DATES[-1]

N_FLIGHTS = 300
N_USERS = 500
N_RESERVATIONS = 2000
EARLIEST_BOOKING = dt.datetime(2024, 4, 20, 0, 0, 0)

CABINS = ("basic_economy", "economy", "business")

# Free checked bags per passenger, by membership and cabin (the domain policy).
FREE_BAGS = {
    "regular": {"basic_economy": 0, "economy": 1, "business": 2},
    "silver": {"basic_economy": 1, "economy": 2, "business": 3},
    "gold": {"basic_economy": 2, "economy": 3, "business": 4},
}
INSURANCE_PER_PASSENGER = 30
BAG_FEE = 50

# Ids the benchmark's tools create on the fly: never generate them.
RESERVED_RESERVATION_PREFIX = "HAT"
RESERVED_PAYMENT_NUMBERS = range(3221300, 3221400)

# (iata, latitude, longitude)
AIRPORTS = [
    ("SFO", 37.62, -122.38),
    ("JFK", 40.64, -73.78),
    ("LAX", 33.94, -118.41),
    ("ORD", 41.97, -87.91),
    ("DFW", 32.90, -97.04),
    ("DEN", 39.86, -104.67),
    ("SEA", 47.45, -122.31),
    ("ATL", 33.64, -84.43),
    ("MIA", 25.79, -80.29),
    ("BOS", 42.36, -71.01),
    ("PHX", 33.43, -112.01),
    ("IAH", 29.98, -95.34),
    ("LAS", 36.08, -115.15),
    ("MCO", 28.43, -81.31),
    ("EWR", 40.69, -74.17),
    ("CLT", 35.21, -80.94),
    ("MSP", 44.88, -93.22),
    ("DTW", 42.21, -83.35),
    ("PHL", 39.87, -75.24),
    ("LGA", 40.78, -73.87),
]
HUBS = {"ATL": 3.0, "ORD": 3.0, "DFW": 2.5, "DEN": 2.5, "JFK": 2.0, "LAX": 2.0,
        "CLT": 1.8, "SEA": 1.5, "PHX": 1.5, "IAH": 1.5, "SFO": 1.5, "LAS": 1.3}

FIRST_NAMES = [
    "Aiden", "Beatriz", "Carlos", "Dana", "Elena", "Felix", "Grace", "Hana",
    "Ines", "Jonah", "Kai", "Leila", "Marco", "Nadia", "Oscar", "Priya",
    "Quinn", "Rosa", "Samir", "Tara", "Uma", "Victor", "Wen", "Xavier",
    "Yuki", "Zoe", "Arjun", "Bianca", "Diego", "Freya", "Hugo", "Ingrid",
    "Kenji", "Lina", "Mateo", "Nora", "Pablo", "Ravi", "Selma", "Theo",
]
LAST_NAMES = [
    "Abara", "Bauer", "Castillo", "Dubois", "Eriksen", "Fischer", "Gupta",
    "Haddad", "Ibrahim", "Jensen", "Kaur", "Larsen", "Mendoza", "Novak",
    "Okafor", "Perez", "Quispe", "Reyes", "Sato", "Tanaka", "Vargas", "Weber",
    "Yamamoto", "Zhang", "Alvarez", "Becker", "Costa", "Diaz", "Fernandez",
    "Hoffmann", "Iqbal", "Kowalski", "Lindqvist", "Moreau", "Nakamura",
    "Ortiz", "Park", "Ramirez", "Schmidt", "Wong",
]
STREETS = [
    "Aspen Court", "Birch Road", "Canyon Way", "Dogwood Lane", "Eastview Terrace",
    "Fairmont Avenue", "Glenwood Drive", "Harbor Street", "Ironwood Place",
    "Juniper Way", "Kingsley Road", "Lincoln Avenue", "Magnolia Street",
    "Northgate Drive", "Orchard Lane", "Prospect Avenue", "Quarry Road",
    "Redwood Court", "Sycamore Street", "Tamarack Drive", "Union Street",
    "Valley View Road", "Walnut Avenue", "Westbrook Lane", "Yorktown Boulevard",
]
# (city, state, zip prefix)
CITIES = [
    ("Boston", "MA", "021"), ("Portland", "OR", "972"), ("Atlanta", "GA", "303"),
    ("Nashville", "TN", "372"), ("Minneapolis", "MN", "554"), ("Miami", "FL", "331"),
    ("Orlando", "FL", "328"), ("Las Vegas", "NV", "891"), ("Salt Lake City", "UT", "841"),
    ("Kansas City", "MO", "641"), ("Detroit", "MI", "482"), ("Baltimore", "MD", "212"),
    ("Raleigh", "NC", "276"), ("Pittsburgh", "PA", "152"), ("Sacramento", "CA", "958"),
    ("Tucson", "AZ", "857"), ("Albuquerque", "NM", "871"), ("Milwaukee", "WI", "532"),
    ("Cleveland", "OH", "441"), ("St. Louis", "MO", "631"), ("Newark", "NJ", "071"),
    ("Houston", "TX", "770"), ("Seattle", "WA", "981"), ("Denver", "CO", "802"),
    ("Chicago", "IL", "606"), ("Austin", "TX", "787"), ("Oakland", "CA", "946"),
    ("Tampa", "FL", "336"),
]


# --------------------------------------------------------------------------- helpers


def miles(a: str, b: str) -> float:
    pa = next(p for p in AIRPORTS if p[0] == a)
    pb = next(p for p in AIRPORTS if p[0] == b)
    lat1, lon1, lat2, lon2 = map(math.radians, (pa[1], pa[2], pb[1], pb[2]))
    h = (math.sin((lat2 - lat1) / 2) ** 2
         + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2)
    return 2 * 3958.8 * math.asin(math.sqrt(h))


def duration_minutes(a: str, b: str) -> int:
    raw = 40 + miles(a, b) / 8.0
    return int(min(360, max(60, round(raw / 30) * 30)))


def ts(t: dt.datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%S")


def weighted(rng: random.Random, pairs):
    items = [p[0] for p in pairs]
    weights = [p[1] for p in pairs]
    return rng.choices(items, weights=weights, k=1)[0]


class Ids:
    """Unique ids drawn from one seeded stream."""

    def __init__(self, rng: random.Random):
        self.rng = rng
        self.used: set[str] = set()

    def payment(self, source: str) -> str:
        while True:
            n = self.rng.randint(1000000, 9999999)
            pid = f"{source}_{n}"
            if n in RESERVED_PAYMENT_NUMBERS or pid in self.used:
                continue
            self.used.add(pid)
            return pid

    def reservation(self) -> str:
        alphabet = string.ascii_uppercase + string.digits
        while True:
            rid = "".join(self.rng.choice(alphabet) for _ in range(6))
            if rid.startswith(RESERVED_RESERVATION_PREFIX) or rid in self.used:
                continue
            self.used.add(rid)
            return rid

    def user(self, first: str, last: str) -> str:
        while True:
            uid = f"{first.lower()}_{last.lower()}_{self.rng.randint(1000, 9999)}"
            if uid not in self.used:
                self.used.add(uid)
                return uid


# --------------------------------------------------------------------------- flights


def make_routes(rng: random.Random) -> list[tuple[str, str]]:
    codes = [a[0] for a in AIRPORTS]
    nyc = {"JFK", "EWR", "LGA"}
    pairs = []
    for i, a in enumerate(codes):
        for b in codes[i + 1:]:
            if a in nyc and b in nyc:
                continue
            if miles(a, b) < 90:
                continue
            pairs.append((a, b))
    # hub-weighted sample of undirected pairs, then keep the graph connected
    chosen: list[tuple[str, str]] = []
    pool = list(pairs)
    while len(chosen) < 52:
        w = [HUBS.get(a, 1.0) * HUBS.get(b, 1.0) for a, b in pool]
        p = rng.choices(pool, weights=w, k=1)[0]
        pool.remove(p)
        chosen.append(p)
    degree = {c: 0 for c in codes}
    for a, b in chosen:
        degree[a] += 1
        degree[b] += 1
    for c in codes:
        while degree[c] < 3:
            cands = [p for p in pool if c in p]
            p = rng.choice(cands)
            pool.remove(p)
            chosen.append(p)
            degree[p[0]] += 1
            degree[p[1]] += 1
    routes = []
    for a, b in chosen:
        r = rng.random()
        if r < 0.08:
            routes.append((a, b))
        elif r < 0.16:
            routes.append((b, a))
        else:
            routes.append((a, b))
            routes.append((b, a))
    return routes


def flight_price(rng: random.Random, dist: float, date: dt.date) -> dict[str, int]:
    demand = 1.0 + (0.08 if date.weekday() in (4, 6) else 0.0) + rng.uniform(-0.12, 0.12)
    econ = (100 + min(95.0, dist / 27)) * demand
    basic = econ * rng.uniform(0.45, 0.6)
    business = (200 + min(290.0, dist / 8.5)) * demand * rng.uniform(0.85, 1.15)
    return {
        "basic_economy": int(min(100, max(50, round(basic)))),
        "economy": int(min(200, max(100, round(econ)))),
        "business": int(min(500, max(200, round(business)))),
    }


def make_flights(rng: random.Random):
    routes = make_routes(rng)
    counts = {r: 1 for r in routes}
    extra = N_FLIGHTS - len(routes)
    assert extra >= 0, len(routes)
    weights = [HUBS.get(a, 1.0) + HUBS.get(b, 1.0) for a, b in routes]
    for r in rng.choices(routes, weights=weights, k=extra):
        counts[r] += 1
    # cap a route at 6 departures a day, moving the surplus elsewhere
    for r in routes:
        while counts[r] > 6:
            counts[r] -= 1
            counts[rng.choice(routes)] += 1
    legs = []
    for r in routes:
        hours = rng.sample(range(24), counts[r])
        for h in hours:
            legs.append((r[0], r[1], h))
    rng.shuffle(legs)

    flights = {}
    prices = {}  # (flight_number, date) -> fare per cabin, also used by reservations
    for i, (a, b, hour) in enumerate(legs, start=1):
        number = f"HAT{i:03d}"
        dur = duration_minutes(a, b)
        dep = dt.datetime.combine(FIRST_DATE, dt.time(hour))
        arr = dep + dt.timedelta(minutes=dur)
        arr_s = arr.strftime("%H:%M:%S") + ("+1" if arr.date() > dep.date() else "")
        dist = miles(a, b)
        dates = {}
        for day in DATES:
            prices[(number, day)] = flight_price(rng, dist, day)
            dates[day.isoformat()] = flight_date_status(rng, day, hour, dur, prices[(number, day)])
        flights[number] = {
            "flight_number": number,
            "origin": a,
            "destination": b,
            "scheduled_departure_time_est": f"{hour:02d}:00:00",
            "scheduled_arrival_time_est": arr_s,
            "dates": dates,
        }
    return flights, prices


def flight_date_status(rng, day: dt.date, hour: int, dur: int, price: dict) -> dict:
    sched_dep = dt.datetime.combine(day, dt.time(hour))
    sched_arr = sched_dep + dt.timedelta(minutes=dur)
    if day > NOW.date():
        return {
            "status": "available",
            "available_seats": {c: rng.randint(0, 20) for c in CABINS},
            "prices": dict(price),
        }
    dep_off = rng.randint(-30, 30)
    arr_off = dep_off + rng.randint(-30, 30)
    dep = sched_dep + dt.timedelta(minutes=dep_off)
    arr = sched_arr + dt.timedelta(minutes=arr_off)
    if day < NOW.date():
        if rng.random() < 0.085:
            return {"status": "cancelled"}
        return {"status": "landed", "actual_departure_time_est": ts(dep), "actual_arrival_time_est": ts(arr)}
    # today: what the board shows at NOW
    if sched_dep >= NOW and rng.random() < 0.4:
        delay = dt.timedelta(minutes=rng.randint(40, 210))
        return {
            "status": "delayed",
            "estimated_departure_time_est": ts(sched_dep + delay),
            "estimated_arrival_time_est": ts(sched_arr + delay),
        }
    if dep > NOW:
        return {"status": "on time", "estimated_departure_time_est": ts(dep), "estimated_arrival_time_est": ts(arr)}
    if arr <= NOW:
        return {"status": "landed", "actual_departure_time_est": ts(dep), "actual_arrival_time_est": ts(arr)}
    return {"status": "flying", "actual_departure_time_est": ts(dep), "estimated_arrival_time_est": ts(arr)}


# --------------------------------------------------------------------------- users


def person(rng: random.Random, lo=1950, hi=2004) -> dict:
    start = dt.date(lo, 1, 1).toordinal()
    end = dt.date(hi, 12, 31).toordinal()
    return {
        "first_name": rng.choice(FIRST_NAMES),
        "last_name": rng.choice(LAST_NAMES),
        "dob": dt.date.fromordinal(rng.randint(start, end)).isoformat(),
    }


def make_users(rng: random.Random, ids: Ids):
    users = {}
    for _ in range(N_USERS):
        me = person(rng, 1950, 2002)
        uid = ids.user(me["first_name"], me["last_name"])
        city, state, zprefix = rng.choice(CITIES)
        unit = weighted(rng, [("Suite", 5), ("Apt", 4), ("Unit", 2)])
        if unit == "Suite":
            unit_no = str(rng.randint(100, 999))
        elif unit == "Apt":
            unit_no = f"{rng.randint(1, 40)}{rng.choice('ABCDEF')}"
        else:
            unit_no = str(rng.randint(1, 60))
        address = {
            "address1": f"{rng.randint(10, 9899)} {rng.choice(STREETS)}",
            "address2": f"{unit} {unit_no}",
            "city": city,
            "country": "USA",
            "state": state,
            "zip": f"{zprefix}{rng.randint(0, 99):02d}",
        }
        email = f"{me['first_name'].lower()}.{me['last_name'].lower()}{rng.randint(1000, 9999)}@example.com"

        methods = []
        n_methods = weighted(rng, [(1, 16), (2, 28), (3, 22), (4, 18), (5, 8), (6, 6), (7, 2)])
        for i in range(n_methods):
            source = weighted(rng, [("credit_card", 34), ("gift_card", 34), ("certificate", 32)])
            if i == 0 and source == "certificate" and rng.random() < 0.4:
                source = "credit_card"
            pid = ids.payment(source)
            if source == "credit_card":
                methods.append({
                    "source": source, "id": pid,
                    "brand": weighted(rng, [("visa", 52), ("mastercard", 48)]),
                    "last_four": f"{rng.randint(0, 9999):04d}",
                })
            elif source == "gift_card":
                methods.append({"source": source, "id": pid, "amount": float(rng.randint(0, 300))})
            else:
                methods.append({"source": source, "id": pid, "amount": float(rng.choice([100, 150, 250, 500]))})

        saved = []
        for _ in range(weighted(rng, [(1, 65), (2, 35)])):
            p = person(rng, 1950, 2004)
            while (p["first_name"], p["last_name"]) == (me["first_name"], me["last_name"]):
                p = person(rng, 1950, 2004)
            saved.append(p)

        users[uid] = {
            "user_id": uid,
            "name": {"first_name": me["first_name"], "last_name": me["last_name"]},
            "address": address,
            "email": email,
            "dob": me["dob"],
            "payment_methods": {m["id"]: m for m in methods},
            "saved_passengers": saved,
            "membership": weighted(rng, [("regular", 30), ("silver", 36), ("gold", 34)]),
            "reservations": [],
        }
    return users


# --------------------------------------------------------------------------- reservations


class Network:
    def __init__(self, flights):
        self.flights = flights
        self.by_route: dict[tuple[str, str], list[str]] = {}
        for number, f in flights.items():
            self.by_route.setdefault((f["origin"], f["destination"]), []).append(number)
        self.out: dict[str, list[str]] = {}
        for a, b in self.by_route:
            self.out.setdefault(a, []).append(b)
        self.airports = sorted(self.out)

    def times(self, number: str, day: dt.date):
        f = self.flights[number]
        dep = dt.datetime.combine(day, dt.time.fromisoformat(f["scheduled_departure_time_est"]))
        a = f["scheduled_arrival_time_est"]
        arr = dt.datetime.combine(day, dt.time.fromisoformat(a.removesuffix("+1")))
        if a.endswith("+1"):
            arr += dt.timedelta(days=1)
        return dep, arr

    def connection(self, rng, x: str, d: str, after: dt.datetime):
        """A flight x->d leaving 1h..14h after `after`: (number, date) or None."""
        opts = []
        for number in self.by_route.get((x, d), []):
            for day in (after.date(), after.date() + dt.timedelta(days=1)):
                if day > LAST_DATE:
                    continue
                dep, _ = self.times(number, day)
                gap = dep - after
                if dt.timedelta(hours=1) <= gap <= dt.timedelta(hours=14):
                    opts.append((gap, number, day))
        if not opts:
            return None
        opts.sort()
        _, number, day = opts[0] if rng.random() < 0.6 else rng.choice(opts)
        return number, day

    def path(self, rng, o: str, d: str, day: dt.date, stops: int):
        """Legs [(number, date)] from o to d leaving on `day`, or None."""
        if stops == 0:
            nums = self.by_route.get((o, d))
            if not nums:
                return None
            return [(rng.choice(nums), day)]
        vias = [x for x in self.out.get(o, []) if x != d and (x, d) in self.by_route]
        rng.shuffle(vias)
        for x in vias:
            first = rng.choice(self.by_route[(o, x)])
            _, arr = self.times(first, day)
            nxt = self.connection(rng, x, d, arr)
            if nxt:
                return [(first, day), nxt]
        return None


DAY_WEIGHTS = [min(i + 2, 16) for i in range(N_DATES)]


def make_itinerary(rng, net: Network):
    flight_type = weighted(rng, [("one_way", 52), ("round_trip", 48)])
    if flight_type == "one_way":
        shape = (weighted(rng, [(0, 30), (1, 70)]),)
    else:
        shape = weighted(rng, [((0, 0), 27), ((0, 1), 5), ((1, 0), 5), ((1, 1), 63)])
    for _ in range(200):
        o = rng.choice(net.airports)
        if shape[0] == 0:
            d = rng.choice(net.out[o])
        else:
            x = rng.choice(net.out[o])
            if x not in net.out:
                continue
            d = rng.choice(net.out[x])
            if d == o:
                continue
        day = rng.choices(DATES, weights=DAY_WEIGHTS, k=1)[0]
        out = net.path(rng, o, d, day, shape[0])
        if not out:
            continue
        legs = list(out)
        if flight_type == "round_trip":
            _, arrived = net.times(*legs[-1])
            back_day = arrived.date() + dt.timedelta(days=weighted(rng, [(1, 20), (2, 20), (3, 16), (4, 12), (5, 10), (6, 7), (7, 7), (8, 4), (9, 2), (10, 2)]))
            if back_day > LAST_DATE:
                continue
            back = net.path(rng, d, o, back_day, shape[1])
            if not back:
                continue
            legs += back
        return flight_type, o, d, legs
    raise RuntimeError("no itinerary found")


def make_reservations(rng, ids: Ids, users, flights, prices):
    net = Network(flights)
    payers = [u for u in users.values()
              if any(m["source"] in ("credit_card", "gift_card") for m in u["payment_methods"].values())]
    # how busy each user is (users holding only certificates have never booked)
    activity = [rng.gammavariate(2.5, 1.0) + 0.4 for _ in payers]
    owners = rng.choices(payers, weights=activity, k=N_RESERVATIONS)

    people_pool = [person(rng) for _ in range(900)]
    reservations = {}
    recent = set(rng.sample(range(N_RESERVATIONS), 90))  # booked within 24h of NOW
    cancelled = set(rng.sample(range(N_RESERVATIONS), 110))
    for k, user in enumerate(owners):
        flight_type, o, d, legs = make_itinerary(rng, net)
        first_dep, _ = net.times(*legs[0])
        if k in recent:
            if first_dep <= NOW + dt.timedelta(hours=2):
                # move a recent booking onto a later trip
                for _ in range(200):
                    flight_type, o, d, legs = make_itinerary(rng, net)
                    first_dep, _ = net.times(*legs[0])
                    if first_dep > NOW + dt.timedelta(hours=2):
                        break
            created = NOW - dt.timedelta(seconds=rng.randint(600, 23 * 3600 + 3000))
        else:
            lead = dt.timedelta(seconds=rng.randint(3 * 3600, 26 * 86400))
            created = first_dep - lead
            latest = NOW - dt.timedelta(hours=24)
            if created > latest:
                created = latest - dt.timedelta(seconds=rng.randint(0, 12 * 86400))
            if created >= first_dep:
                created = first_dep - dt.timedelta(seconds=rng.randint(3 * 3600, 4 * 86400))
            if created < EARLIEST_BOOKING:
                created = EARLIEST_BOOKING + dt.timedelta(seconds=rng.randint(0, 5 * 86400))

        cabin = rng.choice(CABINS)
        n_pax = weighted(rng, [(1, 46), (2, 33), (3, 16), (4, 5)])
        passengers = []
        if rng.random() < 0.8:
            passengers.append({"first_name": user["name"]["first_name"],
                               "last_name": user["name"]["last_name"], "dob": user["dob"]})
        saved = list(user["saved_passengers"])
        rng.shuffle(saved)
        while len(passengers) < n_pax:
            if saved and rng.random() < 0.45:
                p = dict(saved.pop())
            else:
                p = dict(rng.choice(people_pool))
            if any((q["first_name"], q["last_name"]) == (p["first_name"], p["last_name"]) for q in passengers):
                continue
            passengers.append(p)

        res_flights = []
        for number, day in legs:
            f = flights[number]
            res_flights.append({
                "flight_number": number,
                "origin": f["origin"],
                "destination": f["destination"],
                "date": day.isoformat(),
                "price": prices[(number, day)][cabin],
            })

        insurance = weighted(rng, [("yes", 50), ("no", 50)])
        per_pax = weighted(rng, [(0, 55), (1, 25), (2, 14), (3, 6)])
        total_bags = sum(max(0, per_pax + rng.choice((-1, 0, 0, 1))) for _ in range(n_pax))
        free = FREE_BAGS[user["membership"]][cabin] * n_pax
        if total_bags > free and rng.random() < 0.5:
            total_bags = free  # most travellers stay within the free allowance
        nonfree = max(0, total_bags - free)
        amount = (sum(x["price"] for x in res_flights) * n_pax
                  + (INSURANCE_PER_PASSENGER * n_pax if insurance == "yes" else 0)
                  + BAG_FEE * nonfree)

        usable = [m for m in user["payment_methods"].values() if m["source"] in ("credit_card", "gift_card")]
        method = rng.choice(usable)
        cards = [m for m in usable if m["source"] == "credit_card"]
        history = []
        if method["source"] == "gift_card" and cards and amount > 150 and rng.random() < 0.15:
            # part on a gift card, the rest on a credit card
            part = rng.randint(50, min(300, amount - 50))
            history.append({"payment_id": method["id"], "amount": part})
            history.append({"payment_id": rng.choice(cards)["id"], "amount": amount - part})
        else:
            history.append({"payment_id": method["id"], "amount": amount})

        status = None
        if k in cancelled:
            status = "cancelled"
            history += [{"payment_id": p["payment_id"], "amount": -p["amount"]} for p in list(history)]

        rid = ids.reservation()
        reservations[rid] = {
            "reservation_id": rid,
            "user_id": user["user_id"],
            "origin": o,
            "destination": d,
            "flight_type": flight_type,
            "cabin": cabin,
            "flights": res_flights,
            "passengers": passengers,
            "payment_history": history,
            "created_at": ts(created),
            "total_baggages": total_bags,
            "nonfree_baggages": nonfree,
            "insurance": insurance,
            "status": status,
        }
        user["reservations"].append(rid)
    return reservations


# --------------------------------------------------------------------------- main


def generate() -> dict:
    rng = random.Random(SEED)
    ids = Ids(rng)
    flights, prices = make_flights(rng)
    users = make_users(rng, ids)
    reservations = make_reservations(rng, ids, users, flights, prices)
    return {"flights": flights, "users": users, "reservations": reservations}


def main(argv=None) -> int:
    return datafile.run(OUT, generate, __doc__.splitlines()[0], argv)


if __name__ == "__main__":
    sys.exit(main())
